"""The same pages as benchmarks/fulltext_quality.py, extracted by trafilatura (for comparison).

trafilatura is not a dependency (see docs/cleaning.md); run this in a scratch venv:

    python -m venv /tmp/traf && /tmp/traf/bin/pip install trafilatura==2.3.1
    PYTHONPATH=$PWD python benchmarks/fulltext_quality.py --dump /tmp/pages.json
    /tmp/traf/bin/python benchmarks/fulltext_trafilatura.py /tmp/pages.json

Scores as fulltext_quality.py does with no rules (its own text output instead of our cleaner's;
lines are compared with whitespace folded, so the two are comparable).
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import trafilatura


def _flat(text: str) -> str:
    return " ".join(text.split())


def main(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        pages = json.load(file)
    by_site: dict[str, list[tuple[float, float, float]]] = {}
    for page in pages:
        started = time.perf_counter()
        text = trafilatura.extract(page["html"], url=page["url"], include_comments=False,
                                   include_tables=True, favor_precision=False) or ""
        elapsed = (time.perf_counter() - started) * 1000
        extracted = _flat(text)
        lines = page["body_lines"]
        truth = " ".join(lines)
        chrome = [_flat(t) for t in page["chrome"] if _flat(t) not in truth]
        body = sum(len(x) for x in lines if x in extracted) / max(1, sum(len(x) for x in lines))
        leaked = sum(len(t) for t in chrome if t in extracted) / max(1, sum(len(t) for t in chrome))
        by_site.setdefault(page["site"], []).append((body, leaked, elapsed))
    print("| extractor | layout | pages | body recovered (mean / worst) | chrome leaked (mean / worst) "
          "| median ms/page |")
    print("|---|---|---:|---:|---:|---:|")
    for site, scores in by_site.items():
        bodies, leaks, times = zip(*scores, strict=True)
        print(f"| trafilatura | {site} | {len(scores)} | {statistics.mean(bodies):.1%} / {min(bodies):.1%} "
              f"| {statistics.mean(leaks):.1%} / {max(leaks):.1%} | {statistics.median(times):.1f} |")


if __name__ == "__main__":
    main(sys.argv[1])
