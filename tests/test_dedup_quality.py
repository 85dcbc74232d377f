"""Precision and recall floors on the committed labelled set (benchmarks/build_dedup_labels.py
derives it from the shared corpus; docs/dedup.md has the full table). Pure: no database."""

from __future__ import annotations

from benchmarks.dedup_labels import load_pairs, score
from worker.core import neardup
from worker.settings import Settings


def _settings() -> neardup.NearDupSettings:
    s = Settings()
    return neardup.NearDupSettings(
        threshold=s.neardup_threshold, min_chars=s.neardup_min_chars, containment=s.neardup_containment,
        containment_min_jaccard=s.neardup_containment_min_jaccard,
        containment_min_shingles=s.neardup_containment_min_shingles,
    )


def test_labelled_set_floors_and_zero_false_merges() -> None:
    pairs = load_pairs()
    kinds = {p["kind"] for p in pairs if p["label"] == "distinct"}
    assert kinds == {"same_short_body", "same_title", "same_template", "random"}
    scores = score(pairs, _settings())
    exact, near, everything = scores["exact"], scores["near"], scores["all"]
    assert everything.false_merges == []  # no hard negative merges, by hash or by similarity
    assert exact.fp == 0 and exact.recall == 1.0
    assert near.precision >= 0.98 and near.recall >= 0.9
    assert everything.precision >= 0.98 and everything.recall >= 0.9


def test_identical_short_bodies_of_the_corpus_never_merge() -> None:
    pairs = [p for p in load_pairs() if p["kind"] == "same_short_body"]
    bodies = {p["a"]["html"] for p in pairs}
    assert len(pairs) == 40 and len(bodies) >= 11  # the corpus's groups of identical short bodies
    assert score(pairs, _settings())["all"].fp == 0
