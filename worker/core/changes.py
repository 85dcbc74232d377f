"""How much an article's text changed between two versions: trivial edits do not churn readers.

A change is trivial when the texts are nearly the same by ratio (difflib's 2*matches/total over
normalised text) AND only a few characters differ: a ratio alone would let a whole added
sentence in a long article pass as a typo.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from worker.core.fingerprint import normalise_text
from worker.core.neardup import shingles

# SequenceMatcher is quadratic in the worst case; beyond this many characters the shingle
# Jaccard similarity (linear) stands in for it and no change counts as trivial.
_DIFF_MAX_CHARS = 20_000


@dataclass(frozen=True)
class Change:
    ratio: float  # 1.0: the same normalised text
    changed_chars: int  # characters inserted, deleted or replaced (the longer side of each edit)

    def is_trivial(self, min_ratio: float, max_chars: int) -> bool:
        return self.ratio > min_ratio and self.changed_chars <= max_chars


def measure_change(old: str, new: str) -> Change:
    a, b = normalise_text(old), normalise_text(new)
    if a == b:
        return Change(1.0, 0)
    if max(len(a), len(b)) > _DIFF_MAX_CHARS:
        sa, sb = shingles(a), shingles(b)
        ratio = len(sa & sb) / len(sa | sb) if sa | sb else 1.0
        return Change(ratio, abs(len(a) - len(b)) or _DIFF_MAX_CHARS)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
    return Change(matcher.ratio(), changed)
