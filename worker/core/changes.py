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
    # Edits are usually local: diff only what lies between the common prefix and suffix
    # (SequenceMatcher's cost grows with the square of what it is given).
    head = _common_prefix(a, b)
    tail = _common_prefix(a[head:][::-1], b[head:][::-1])
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    matcher = SequenceMatcher(None, mid_a, mid_b, autojunk=False)
    opcodes = matcher.get_opcodes()
    matched = head + tail + sum(i2 - i1 for tag, i1, i2, _, _ in opcodes if tag == "equal")
    changed = sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in opcodes if tag != "equal")
    return Change(2 * matched / (len(a) + len(b)), changed)


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
