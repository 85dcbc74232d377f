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

    threshold: float = 0.6  # estimated Jaccard at or above which two articles are near duplicates
    min_chars: int = 200  # shorter texts are no evidence: never near-duplicates of anything


def shingle_text(text: str) -> str:
    """Lower-cased NFKC text with punctuation and whitespace removed."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


def shingles(text: str, size: int = SHINGLE_CHARS) -> set[str]:
    folded = shingle_text(text)
    if len(folded) <= size:
        return {folded} if folded else set()
    return {folded[i:i + size] for i in range(len(folded) - size + 1)}


def signature(text: str) -> tuple[int, ...]:
    """NUM_PERM 32-bit values; equal positions estimate the Jaccard similarity of shingle sets."""
    bins = [_EMPTY] * NUM_PERM
    for shingle in shingles(text):
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


def pack_signature(sig: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(sig)}I", *sig)


def unpack_signature(data: bytes | None) -> tuple[int, ...]:
    if not data or len(data) % 4:
        return ()
    return struct.unpack(f"<{len(data) // 4}I", data)


def is_evidence(text: str, settings: NearDupSettings) -> bool:
    """Long enough to say anything about identity (short bodies are shared by unrelated posts)."""
    return len(shingle_text(text)) >= settings.min_chars


def are_near_duplicates(a: Sequence[int], b: Sequence[int], settings: NearDupSettings) -> bool:
    return similarity(a, b) >= settings.threshold
