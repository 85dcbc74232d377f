"""Near-duplicate fingerprints: MinHash over character shingles, banded for LSH lookup.

Character shingles need no tokenizer, so Chinese, Japanese and English text all work the same.
The signature is one-permutation MinHash (Li, Owen, Zhang 2012) with rotation densification
(Shrivastava & Li 2014): each shingle is hashed once and falls into one of `NUM_PERM` bins, the
bin keeps its smallest value. That is one hash per shingle instead of one per shingle *per
permutation*, so a 4 KB article costs about a millisecond in pure Python.

Bands of `ROWS_PER_BAND` consecutive bins are hashed to one signed 64-bit integer each; two
articles are candidates when any band hash matches, which an index on (band, hash) answers
without a scan however large the archive grows.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE_VERSION = "m1"  # bump when shingling, hashing or banding changes: old bands are stale
NUM_PERM = 128
ROWS_PER_BAND = 4
NUM_BANDS = NUM_PERM // ROWS_PER_BAND  # 32 bands of 4: candidates from Jaccard ~0.4 upwards
SHINGLE_CHARS = 5
_EMPTY = 0xFFFFFFFF
_BIN_SPACE = (1 << 32) // NUM_PERM
# Punctuation, symbols and whitespace carry no identity and differ between outlets' markup.
_NOISE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class NearDupSettings:
    """Thresholds, configurable through worker.settings (FEEDWASH_NEARDUP_*)."""

    threshold: float = 0.7  # estimated Jaccard at or above which two articles are near duplicates
    min_chars: int = 200  # shorter texts are no evidence: never near-duplicates of anything
    # One text inside the other (a dropped or added paragraph, a reprint's own intro/footer):
    # containment counts only with some Jaccard too and enough shared text, because short
    # template pages (a course site's lessons) are also largely contained in each other.
    containment: float = 0.85
    containment_min_jaccard: float = 0.5
    containment_min_shingles: int = 400


def shingle_text(text: str) -> str:
    """Lower-cased NFKC text with punctuation and whitespace removed."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def shingles(text: str, size: int = SHINGLE_CHARS) -> set[str]:
    folded = shingle_text(text)
    if len(folded) <= size:
        return {folded} if folded else set()
    return {folded[i:i + size] for i in range(len(folded) - size + 1)}


@dataclass(frozen=True)
class Sketch:
    """A text's MinHash signature and the size of its shingle set (for containment)."""

    signature: tuple[int, ...]
    size: int


def sketch(text: str) -> Sketch:
    grams = shingles(text)
    return Sketch(_signature(grams), len(grams))


def signature(text: str) -> tuple[int, ...]:
    """NUM_PERM 32-bit values; equal positions estimate the Jaccard similarity of shingle sets."""
    return _signature(shingles(text))


def _signature(grams: set[str]) -> tuple[int, ...]:
    bins = [_EMPTY] * NUM_PERM
    for shingle in grams:
        value = zlib.crc32(shingle.encode("utf-8"))
        # crc32 is linear; one multiplicative mix spreads it evenly over the bins.
        value = (value * 0x9E3779B1) & 0xFFFFFFFF
        index, rest = divmod(value, _BIN_SPACE)
        if rest < bins[index]:
            bins[index] = rest
    return _densify(bins)


def _densify(bins: list[int]) -> tuple[int, ...]:
    """Fill each empty bin from the next non-empty bin to its right (circularly), offset by the
    distance so borrowed values stay distinguishable; all-empty stays all-empty."""
    if all(b == _EMPTY for b in bins):
        return tuple(bins)
    filled = list(bins)
    for i, value in enumerate(bins):
        if value != _EMPTY:
            continue
        step = 1
        while bins[(i + step) % NUM_PERM] == _EMPTY:
            step += 1
        filled[i] = bins[(i + step) % NUM_PERM] + step * _BIN_SPACE
    return tuple(filled)


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def band_hashes(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit hash per band (fits a BIGINT column on both databases)."""
    out = []
    for band in range(NUM_BANDS):
        rows = sig[band * ROWS_PER_BAND:(band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(struct.pack(f"<H{ROWS_PER_BAND}I", band, *rows), digest_size=8)
        out.append(int.from_bytes(digest.digest(), "little", signed=True))
    return out


def pack(sk: Sketch) -> bytes:
    """Storage form: the set size, then the signature (little-endian uint32s)."""
    return struct.pack(f"<I{len(sk.signature)}I", sk.size, *sk.signature)


def unpack(data: bytes | None) -> Sketch:
    if not data or len(data) % 4 or len(data) < 8:
        return Sketch((), 0)
    size, *sig = struct.unpack(f"<{len(data) // 4}I", data)
    return Sketch(tuple(sig), size)


def is_evidence(text: str, settings: NearDupSettings) -> bool:
    """Long enough to say anything about identity (short bodies are shared by unrelated posts)."""
    return len(shingle_text(text)) >= settings.min_chars


def containment(a: Sketch, b: Sketch, jaccard: float) -> float:
    """Estimated share of the smaller shingle set found in the larger one."""
    smaller = min(a.size, b.size)
    if smaller == 0:
        return 0.0
    return min(1.0, jaccard / (1 + jaccard) * (a.size + b.size) / smaller)


def are_near_duplicates(a: Sketch, b: Sketch, settings: NearDupSettings) -> bool:
    jaccard = similarity(a.signature, b.signature)
    if jaccard >= settings.threshold:
        return True
    return (jaccard >= settings.containment_min_jaccard
            and min(a.size, b.size) >= settings.containment_min_shingles
            and containment(a, b, jaccard) >= settings.containment)
