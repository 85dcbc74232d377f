"""Articles per second: the full cleaner vs a bare `nh3.clean` on the rebuilt corpus.

    PYTHONPATH=$PWD python benchmarks/cleaning.py [CORPUS_DIR] [--runs 5]

Bodies are parsed from the seed files once, outside the timing. Three measurements, each the
best of `--runs` passes over every body (on a shared machine the best pass is the stable figure):
  - bare nh3.clean(body) with nh3's defaults: the floor of what any sanitiser costs;
  - clean_html(body, rules): the staged cleaner alone;
  - clean_entry(entry, rules): the cleaner plus rule matching, summary, hash, derived fields.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nh3

from benchmarks.boilerplate_report import DEFAULT_CORPUS, corpus_posts
from worker.config import load_rules
from worker.core.clean import clean_html
from worker.core.pipeline import clean_entry
from worker.core.rules import matching_rules
from worker.core.seed import parse_seed
from worker.core.types import InputError, ParsedEntry

ROOT = Path(__file__).resolve().parent.parent


def load_entries(corpus: Path) -> list[ParsedEntry]:
    entries = []
    for relpath, _ in corpus_posts(corpus):
        with contextlib.suppress(InputError):  # unreadable posts are counted by the corpus test
            entries.append(parse_seed((corpus / relpath).read_bytes(), relpath))
    return entries


def rate(work: Callable[[], None], count: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return count / min(times)  # best pass: the least disturbed by other processes on the machine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if not (args.corpus / "index.jsonl").is_file():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    rules = load_rules(ROOT / "config" / "rules")
    entries = load_entries(args.corpus)
    bodies = [e.html for e in entries]
    matched = [matching_rules(rules, (e.link, None, e.base_url), e.categories) for e in entries]
    n = len(entries)
    size = sum(len(b.encode()) for b in bodies) / n / 1024
    bare = rate(lambda: [nh3.clean(b) for b in bodies], n, args.runs)
    cleaner = rate(lambda: [clean_html(b, r, e.base_url) for b, r, e in zip(bodies, matched, entries,
                                                                             strict=True)], n, args.runs)
    full = rate(lambda: [clean_entry(e, rules) for e in entries], n, args.runs)
    print(f"{n} articles, mean body {size:.1f} KiB, best of {args.runs} runs, one process\n")
    print("| step | articles/s | ms/article | x bare nh3 |")
    print("|---|---:|---:|---:|")
    for name, value in (("bare nh3.clean (defaults)", bare), ("clean_html (staged cleaner + rules)", cleaner),
                        ("clean_entry (cleaner + matching, summary, hash, derived fields)", full)):
        print(f"| {name} | {value:,.0f} | {1000 / value:.3f} | {bare / value:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
