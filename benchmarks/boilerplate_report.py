"""Which blocks repeat across the posts of one source? The measurement behind the site rules.

A "block" is one line of an article's text as the cleaner extracts it: the normalised text of
a block element (<p>, <li>, <div>, ...), so before and after are measured the same way.
A block that recurs in several posts of the same source (category path) is boilerplate:
an app-download line, a "follow us" footer, a copyright line. The report lists the worst ones
before cleaning (raw bodies) and after (cleaned bodies, with the shipped rules).

    PYTHONPATH=$PWD python benchmarks/boilerplate_report.py [CORPUS_DIR] [--top N] [--min-posts K]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from lxml import etree

from worker.config import load_rules
from worker.core.clean import decode, parse_body
from worker.core.pipeline import clean_entry
from worker.core.plaintext import extract_text
from worker.core.seed import parse_seed
from worker.core.types import InputError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = next(
    (p for p in (ROOT.parent / "shared" / "corpus" / "hexo_rebuilt",
                 ROOT.parent.parent / "shared" / "corpus" / "hexo_rebuilt") if p.is_dir()),
    ROOT.parent / "shared" / "corpus" / "hexo_rebuilt",
)
_SPACE = re.compile(r"\s+")


def raw_text(html: str) -> str:
    """The text of the raw body as a reader would see it unstyled: only the content of script,
    style and template (never displayed text) is left out; everything else is still there."""
    body = parse_body(decode(html))
    if body is None:
        return ""
    etree.strip_elements(body, "script", "style", "template", with_tail=False)
    return extract_text(body)


def block_texts(text: str) -> set[str]:
    return {_SPACE.sub(" ", line).strip()[:160] for line in text.split("\n") if len(line.strip()) >= 2}


def corpus_posts(corpus: Path) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (corpus / "index.jsonl").read_text("utf-8").splitlines() if line]
    return [(row["file"], "/".join(row["categories"])) for row in rows]


def repeated_blocks(per_source: dict[str, list[set[str]]], min_posts: int) -> list[tuple[int, str, str]]:
    """(posts containing it, source, block) for every block in >= min_posts posts of a source."""
    found = []
    for source, posts in per_source.items():
        counts: Counter[str] = Counter()
        for blocks in posts:
            counts.update(blocks)
        found.extend((n, source, text) for text, n in counts.items() if n >= min_posts)
    return sorted(found, key=lambda t: (-t[0], t[1], t[2]))


def measure(corpus: Path) -> tuple[dict[str, list[set[str]]], dict[str, list[set[str]]], int]:
    rules = load_rules(ROOT / "config" / "rules")
    before: dict[str, list[set[str]]] = defaultdict(list)
    after: dict[str, list[set[str]]] = defaultdict(list)
    errors = 0
    for relpath, source in corpus_posts(corpus):
        data = (corpus / relpath).read_bytes()
        try:
            entry = parse_seed(data, relpath)
        except InputError:
            errors += 1
            continue
        before[source].append(block_texts(raw_text(entry.html)))
        after[source].append(block_texts(clean_entry(entry, rules).text))
    return before, after, errors


def table(rows: list[tuple[int, str, str]], top: int) -> str:
    lines = ["| posts | source | repeated block |", "|---:|---|---|"]
    for n, source, text in rows[:top]:
        cell = text.replace("|", "\\|")
        lines.append(f"| {n} | {source} | {cell[:90]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--min-posts", type=int, default=3)
    args = parser.parse_args(argv)
    if not (args.corpus / "index.jsonl").is_file():
        print(f"no corpus at {args.corpus} (index.jsonl missing)", file=sys.stderr)
        return 2
    before, after, errors = measure(args.corpus)
    rep_before = repeated_blocks(before, args.min_posts)
    rep_after = repeated_blocks(after, args.min_posts)
    posts = sum(len(p) for p in before.values())
    print(f"{posts} posts from {len(before)} sources ({errors} unreadable); a block counts as repeated "
          f"when it occurs in >= {args.min_posts} posts of one source.\n")
    print(f"Before cleaning: {len(rep_before)} repeated blocks, "
          f"{sum(n for n, _, _ in rep_before)} occurrences\n")
    print(table(rep_before, args.top))
    print(f"\nAfter cleaning: {len(rep_after)} repeated blocks, "
          f"{sum(n for n, _, _ in rep_after)} occurrences\n")
    print(table(rep_after, args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
