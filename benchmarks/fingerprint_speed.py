"""Per-article cost of the two text fingerprints: `dedup.fingerprint_for` (near-duplicate
sketch + LSH bands) and `fingerprint.content_hash` (exact identity), in ms per article.

    PYTHONPATH=. python benchmarks/fingerprint_speed.py [--repeats R] [--articles N]

Two text sets: N cleaned ~8 KB articles from benchmarks/ingest.py (`article_html`, cleaned by
`clean_html`, as the ingest benchmark stores them), and every post of ../shared/corpus/hexo_rebuilt
cleaned as `seeds import` does (skipped if the corpus is absent). Each function runs over the
whole set R times; reported: process CPU time per article (best and median of the R passes) and
wall clock (best). To compare with an older checkout, run this file with PYTHONPATH pointing at
that checkout (it only needs benchmarks/ingest.py and the worker package from there).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.ingest import article_html
from worker.core.clean import clean_html
from worker.core.fingerprint import content_hash
from worker.storage import dedup

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hexo_rebuilt"
if not CORPUS.is_dir():  # a worktree sits one level deeper
    CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "hexo_rebuilt"


class _Text:
    """fingerprint_for reads only `.text` of its CleanArticle."""

    def __init__(self, text: str) -> None:
        self.text = text


def measure(texts: list[str], fn: Callable[[Any], object], repeats: int) -> tuple[float, float, float]:
    items = [_Text(t) for t in texts]
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        for item in items:
            fn(item)
        cpu.append((time.process_time() - c0) * 1e3 / len(items))
        wall.append((time.perf_counter() - w0) * 1e3 / len(items))
    return min(cpu), statistics.median(cpu), min(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--articles", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(7)
    sets = {"ingest 8 KB": [clean_html(article_html(rng, i)).text for i in range(args.articles)]}
    if CORPUS.is_dir():
        from benchmarks.build_dedup_labels import load_corpus

        sets["corpus"] = [doc["text"] for doc in load_corpus(CORPUS)]
    policy = dedup.DedupPolicy.from_settings()
    functions: dict[str, Callable[[Any], object]] = {
        "fingerprint_for": lambda a: dedup.fingerprint_for(a, policy),
        "content_hash": lambda a: content_hash(a.text, "标题"),
    }
    for fn in functions.values():  # warm caches (lazy tables, imports) outside the timing
        fn(_Text("预热 warm-up，全角。"))
    print("| texts | n | mean chars | function | CPU ms best | CPU ms median | wall ms best |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for label, texts in sets.items():
        mean = sum(map(len, texts)) / len(texts)
        for name, fn in functions.items():
            best, median, wall = measure(texts, fn, args.repeats)
            print(f"| {label} | {len(texts)} | {mean:,.0f} | {name} | {best:.3f} | {median:.3f} "
                  f"| {wall:.3f} |")


if __name__ == "__main__":
    main()
