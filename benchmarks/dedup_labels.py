"""The labelled dedup set: load it and score exact and near-duplicate detection on it.

Each line of tests/fixtures/dedup_labels.jsonl.xz is one pair {kind, label, a, b} where a and b
are {title, html, link}; label is "exact" (must get one content hash), "near" (must be found
as a near duplicate, or better), "distinct" (must never merge: a false merge) or "ambiguous"
(reported, not scored). benchmarks/build_dedup_labels.py writes the file from the shared corpus.
Used by tests/test_dedup_quality.py and by `python benchmarks/dedup_labels.py` (the report).
"""

from __future__ import annotations

import json
import lzma
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.core import neardup
from worker.core.pipeline import clean_entry
from worker.core.types import CleanArticle, ParsedEntry

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "fixtures" / "dedup_labels.jsonl.xz"


def load_pairs(path: Path = LABELS) -> list[dict[str, Any]]:
    with lzma.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def clean(side: dict[str, Any], key: str, short_text_chars: int = 120) -> CleanArticle:
    entry = ParsedEntry(entry_key=key, title=side["title"], html=side["html"], link=side.get("link"))
    return clean_entry(entry, [], None, short_text_chars)


@dataclass(frozen=True)
class Verdict:
    exact: bool  # same content hash
    near: bool  # an LSH candidate whose estimated similarity passes the threshold
    similarity: float

    @property
    def merged(self) -> bool:
        return self.exact or self.near


def judge(pair: dict[str, Any], settings: neardup.NearDupSettings) -> Verdict:
    a, b = clean(pair["a"], "a"), clean(pair["b"], "b")
    sa, sb = neardup.sketch(a.text), neardup.sketch(b.text)
    evidence = neardup.is_evidence(a.text, settings) and neardup.is_evidence(b.text, settings)
    candidate = evidence and bool(set(enumerate(neardup.band_hashes(sa.signature)))
                                  & set(enumerate(neardup.band_hashes(sb.signature))))
    near = candidate and neardup.are_near_duplicate_texts(sa, sb, a.text, b.text, settings)
    return Verdict(a.content_hash == b.content_hash, near, neardup.similarity(sa.signature, sb.signature))


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_merges: list[str] = field(default_factory=list)  # kinds of distinct pairs that merged
    missed: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def score(pairs: list[dict[str, Any]], settings: neardup.NearDupSettings) -> dict[str, Scores]:
    """"exact": content-hash equality against the exact-labelled pairs (a hash match on a
    distinct pair is a false positive); "near": the whole detector (exact or near) against the
    near-labelled pairs; "all": the whole detector against every duplicate pair. In "near" and
    "all" every merged distinct pair is a false positive (a false merge)."""
    scores = {"exact": Scores(), "near": Scores(), "all": Scores()}
    for pair in pairs:
        label, kind = pair["label"], pair["kind"]
        if label == "ambiguous":
            continue
        verdict = judge(pair, settings)
        _tally(scores["exact"], kind, verdict.exact, label == "exact", label == "distinct")
        _tally(scores["near"], kind, verdict.merged, label == "near", label == "distinct")
        _tally(scores["all"], kind, verdict.merged, label in ("exact", "near"), label == "distinct")
    return scores


def _tally(s: Scores, kind: str, detected: bool, positive: bool, negative: bool) -> None:
    if detected and positive:
        s.tp += 1
    elif detected and negative:
        s.fp += 1
        s.false_merges.append(kind)
    elif positive and not detected:
        s.fn += 1
        s.missed[kind] += 1


def report(pairs: list[dict[str, Any]], thresholds: list[float]) -> None:
    kinds = Counter(f"{p['label']}:{p['kind']}" for p in pairs)
    print(f"{len(pairs)} pairs: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print("| Jaccard threshold | exact P | exact R | near P | near R | all P | all R "
          "| false merges | missed |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for threshold in thresholds:
        s = score(pairs, neardup.NearDupSettings(threshold=threshold))
        e, n, a = s["exact"], s["near"], s["all"]
        missed = ", ".join(f"{k} {c}" for k, c in sorted(a.missed.items()))
        print(f"| {threshold:.2f} | {e.precision:.3f} | {e.recall:.3f} | {n.precision:.3f} | "
              f"{n.recall:.3f} | {a.precision:.3f} | {a.recall:.3f} | {len(a.false_merges)} | {missed} |")
    print("similarities of ambiguous and real pairs:")
    for pair in pairs:
        if pair["label"] == "ambiguous" or pair["kind"] == "real":
            verdict = judge(pair, neardup.NearDupSettings())
            print(f"  {pair['label']:<9} {verdict.similarity:.2f} merged={verdict.merged} "
                  f"{pair['a']['title'][:30]} | {pair['b']['title'][:30]}")


if __name__ == "__main__":
    sweep = [float(t) for t in sys.argv[1:]] or [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9]
    report(load_pairs(), sweep)
