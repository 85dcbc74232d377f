"""Garbage-collector settings for processes that ingest (Celery workers, `poll`, `seeds import`).

Cleaning and storing one article allocates thousands of short-lived containers (lxml element
proxies, band-hash tuples, row dicts), so with CPython's default first-generation threshold (700)
the collector runs every few hundred microseconds, and every tenth of those walks the second
generation and every hundredth everything: SQLAlchemy's mappers, lxml, the loaded modules, none of
which ever becomes garbage. benchmarks/ingest.py: 575-580 items/s with these settings against
556-564 with the defaults (its `--default-gc`); in one chunk's band bookkeeping, 7 of 8 ms were
the collector.

`gc.freeze()` moves everything alive at start-up into the permanent generation, which no
collection walks again (and, before a fork, keeps those pages shared with the parent); a larger
first threshold makes young collections rarer. Cycles are still collected: only less often.
"""

from __future__ import annotations

import gc

# (allocations before a young collection, young collections per middle one, middle per full).
INGEST_THRESHOLDS = (50_000, 20, 10)


def tune_for_ingest() -> None:
    """Call once a process has imported what it needs and before its first poll."""
    _build_code_point_tables()
    gc.collect()  # what start-up left as garbage goes now, not into the permanent generation
    gc.freeze()
    gc.set_threshold(*INGEST_THRESHOLDS)


def _build_code_point_tables() -> None:
    """The code-point tables of the derived fields, the NFKC form and the near-duplicate sketch
    (built on first use, ~45 ms in all) built now: not inside a process's first poll, and in a
    Celery worker before the fork, so its pool processes share them frozen."""
    from worker.core import derive, neardup

    sample = "中文カナ text ｆｕｌｌ… 2026"
    derive.reading_length_and_language(sample)
    neardup.sketch(sample)
    neardup.sketch(sample + " Σ")  # the path for text that str.lower() folds in context
