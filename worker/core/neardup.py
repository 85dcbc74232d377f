"""Near-duplicate fingerprints: MinHash over character shingles, banded for LSH lookup.

Character shingles need no tokenizer, so Chinese, Japanese and English text all work the same.
The signature is one-permutation MinHash (Li, Owen, Zhang 2012) with rotation densification
(Shrivastava & Li 2014): each shingle is hashed once and falls into one of `NUM_PERM` bins, the
bin keeps its smallest value. That is one hash per shingle instead of one per shingle *per
permutation*.

It runs on numpy arrays, not Python strings (~0.2 ms for an 8 KB article instead of ~1.6 ms):
the folded text becomes an array of code points, each window of `SHINGLE_CHARS` code points a
64-bit polynomial hash (wrapping uint64 arithmetic) finished with murmur3's fmix64, and after
one sort the smallest hash of each bin is the first of its run (the bin is the top bits).

Bands of `ROWS_PER_BAND` consecutive bins are hashed to one signed 64-bit integer each; two
articles are candidates when any band hash matches, which an index on (band, hash) answers
without a scan however large the archive grows.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from worker.core.nfkc import NfkcForm, code_points, from_code_points, nfkc_form

# Bump when folding, shingling, hashing or banding changes. It heads every packed sketch, and
# `unpack` turns a sketch of another version into an empty one (similar to nothing), so a stale
# sketch can never be compared with a new one; a migration clears stale sketches and bands
# (0004_minhash_m2) and `feedwash db upgrade` re-fingerprints those articles.
# m1: crc32 per shingle string, blake2b per band. m2: the numpy hashing below.
SIGNATURE_VERSION = "m2"
NUM_PERM = 128
ROWS_PER_BAND = 4
NUM_BANDS = NUM_PERM // ROWS_PER_BAND  # 32 bands of 4: candidates from Jaccard ~0.4 upwards
SHINGLE_CHARS = 5
_EMPTY = 0xFFFFFFFF
_BIN_BITS = NUM_PERM.bit_length() - 1  # 7: a hash's top 7 bits pick its bin
_VALUE_BITS = 32 - _BIN_BITS  # the next 25 bits are its value in the bin ...
_BIN_SPACE = 1 << _VALUE_BITS  # ... so a value plus a densification offset (< 128 bins) fits 32 bits
_HEADER = SIGNATURE_VERSION.encode("ascii")
SKETCH_HEADER = _HEADER  # what every stored sketch of this version starts with
_PACKED = struct.Struct(f"<{len(_HEADER)}sI{NUM_PERM}I")  # version, set size, signature

_U64 = np.uint64
# The per-window polynomial's odd multiplier. Any odd value estimates Jaccard as well as any
# other (estimate minus true Jaccard over the labelled pairs: RMSE 0.021-0.030 for 30 of them,
# m1's crc32 scheme 0.022-0.029), but a labelled hard negative (true Jaccard 0.697) and the
# storage tests' reprint (0.682) sit within the estimate's noise of the 0.7 threshold, so which
# side each lands on is the luck of the multiplier: this one, like m1's, puts both on their
# labelled side (3 of the 30 tried do; docs/dedup.md).
_POLY = _U64(0xF519F96EE2385D25)
_POLY_SQUARED = _U64(int(_POLY) ** 2 % 2**64)
_FMIX_1, _FMIX_2 = _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53)
_S33, _S57, _S32 = _U64(33), _U64(64 - _BIN_BITS), _U64(32)
_BIN_IDS = np.arange(NUM_PERM, dtype=np.int64)
_BIN_STARTS = _BIN_IDS.astype(_U64) << _S57  # the lowest hash of each bin
_BIN_OFFSETS = _BIN_IDS * _BIN_SPACE  # the top 32 bits of the lowest hash of each bin


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


@cache
def _word_table() -> np.ndarray:
    """BMP code point -> kept by the folding. Punctuation, symbols and whitespace carry no
    identity and differ between outlets' markup: only str.isalnum() characters stay (what the
    regex `[^\\W_]` keeps, checked over every code point)."""
    return np.fromiter((chr(code).isalnum() for code in range(0x10000)), dtype=bool, count=0x10000)


_DROPPED = 0xFFFFFFFF  # no code point: what _fold_table gives the characters the folding drops
# str.lower() is one character to one character without context, except for these two: "Σ" is
# "ς" at the end of a word and "σ" elsewhere, "İ" is "i" + U+0307. A text with either is
# lower-cased as a whole (the table cannot see a neighbour), as the folding was first written.
_CASED_IN_CONTEXT = ("\u03a3", "\u0130")


@cache
def _fold_table() -> np.ndarray:
    """BMP code point -> its lower-case code point when the folding keeps that, else _DROPPED:
    lower() and the _word_table filter in one lookup. Built once per process (~15 ms)."""
    return np.fromiter((_fold_one(code) for code in range(0x10000)), dtype=np.uint32, count=0x10000)


def _fold_one(code: int) -> int:
    lower = chr(code).lower()
    return ord(lower) if len(lower) == 1 and lower.isalnum() else _DROPPED


def _folded_codes(text: str, form: NfkcForm | None = None) -> np.ndarray:
    """Code points of the lower-cased NFKC text without punctuation and whitespace (uint32).
    `form` is the text's NFKC form if the caller has it (clean_entry computes it for the hash)."""
    if form is None or not form.is_of(text):
        form = nfkc_form(text)
    if _CASED_IN_CONTEXT[0] in form.text or _CASED_IN_CONTEXT[1] in form.text:
        return _folded_by_lower(form.text)
    codes = form.codes
    folded = _fold_table().take(codes, mode="clip")  # beyond the BMP: U+FFFF's (dropped), fixed next
    if len(codes) and codes.max() > 0xFFFF:  # CJK extensions, emoji, mathematical letters: rare
        astral = np.flatnonzero(codes > 0xFFFF)
        folded[astral] = [_fold_one(code) for code in codes[astral].tolist()]
    return folded[folded != _DROPPED]


def _folded_by_lower(normal: str) -> np.ndarray:
    """_folded_codes of an NFKC text, by str.lower() and _word_table."""
    codes = code_points(normal.lower())
    keep = _word_table()[np.minimum(codes, 0xFFFF)]  # U+FFFF is no letter: astral ones fixed below
    astral = np.flatnonzero(codes > 0xFFFF)
    if astral.size:  # CJK extensions, emoji, mathematical letters: rare, so asked one by one
        keep[astral] = [chr(code).isalnum() for code in codes[astral].tolist()]
    return codes[keep]


def shingle_text(text: str) -> str:
    """Lower-cased NFKC text with punctuation and whitespace removed."""
    return from_code_points(_folded_codes(text))


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
    values, size = _signature_values(_folded_codes(text))
    return Sketch(_as_tuple(values), size)


def signature(text: str) -> tuple[int, ...]:
    """NUM_PERM 32-bit values; equal positions estimate the Jaccard similarity of shingle sets."""
    return sketch(text).signature


def sketch_and_bands(
    text: str, settings: NearDupSettings, form: NfkcForm | None = None,
) -> tuple[Sketch, tuple[int, ...]]:
    """The sketch, and its band hashes if the text is long enough to be evidence (else none):
    one folding pass for both. `form`: the text's NFKC form, if the caller has it."""
    codes = _folded_codes(text, form)
    values, size = _signature_values(codes)
    bands = _as_tuple(_band_hashes(values)) if len(codes) >= settings.min_chars else ()
    return Sketch(_as_tuple(values), size), bands


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    if not a or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def band_hashes(sig: Sequence[int]) -> list[int]:
    """One signed 64-bit hash per band (fits a BIGINT column on both databases)."""
    return list(_as_tuple(_band_hashes(np.asarray(sig, dtype=_U64))))


def _as_tuple(values: np.ndarray) -> tuple[int, ...]:
    return tuple(values.tolist())


def _fmix64(x: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser: every input bit moves every output bit (a bijection)."""
    x = x ^ (x >> _S33)
    x *= _FMIX_1
    x ^= x >> _S33
    x *= _FMIX_2
    x ^= x >> _S33
    return x


def _shingle_hashes(codes: np.ndarray) -> np.ndarray:
    """One uint64 per window of SHINGLE_CHARS code points (one window if the text is shorter)."""
    wide = codes.astype(_U64)
    if len(codes) < SHINGLE_CHARS:
        poly = wide[:1].copy()
        for code in wide[1:]:  # Horner: c0*P^(n-1) + ... + c(n-1), modulo 2^64
            poly *= _POLY
            poly += code
        return _fmix64(poly)
    # c0*P^4 + c1*P^3 + c2*P^2 + c3*P + c4 (modulo 2^64), the Horner value, from pairs: fewer
    # passes over the array (written for SHINGLE_CHARS == 5; the pinned values in
    # tests/test_neardup.py fail if the two part)
    pairs = wide[:-1] * _POLY
    pairs += wide[1:]  # c(i)*P + c(i+1)
    fours = pairs[:-2] * _POLY_SQUARED
    fours += pairs[2:]  # c(i)*P^3 + c(i+1)*P^2 + c(i+2)*P + c(i+3)
    poly = fours[:-1]
    poly *= _POLY
    poly += wide[4:]
    return _fmix64(poly)


def _signature_values(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """The densified signature (int64 array of NUM_PERM values < 2^32) and the shingle count.

    Sorted, a bin's hashes are one run (the bin is the top bits) starting with its smallest;
    searching each bin's lowest possible hash finds that start, or for an empty bin the start
    of the next non-empty bin to its right (past the end: the first one, a turn later). That
    is rotation densification: the borrowed value, offset by the distance so it stays
    distinguishable."""
    if not len(codes):
        return np.full(NUM_PERM, _EMPTY, dtype=np.int64), 0
    hashes = np.sort(_shingle_hashes(codes))
    size = 1 + int(np.count_nonzero(hashes[1:] != hashes[:-1]))
    found = np.searchsorted(hashes, _BIN_STARTS)
    # A hash's top 32 bits are its bin (times _BIN_SPACE) plus its value in the bin, so the value
    # plus the offset (source bin - bin) * _BIN_SPACE is those bits minus the bin's start, plus a
    # turn (NUM_PERM * _BIN_SPACE = 2^32) for a value borrowed from past the end (index 0: "wrap").
    values = (hashes.take(found, mode="wrap") >> _S32).astype(np.int64) - _BIN_OFFSETS
    if found[-1] == len(hashes):  # the trailing empty bins turned
        values[found == len(hashes)] += NUM_PERM * _BIN_SPACE
    return values, size


_BAND_SALTS = _fmix64(np.arange(1, NUM_BANDS + 1, dtype=_U64) * _FMIX_1)


def _band_hashes(values: np.ndarray) -> np.ndarray:
    """Signed 64-bit hash per band: its 4 rows as two little-endian 64-bit words, each mixed in
    with fmix64, salted with the band number."""
    words = values.astype("<u4").view("<u8").reshape(NUM_BANDS, 2)
    hashed: np.ndarray = _fmix64(_fmix64(words[:, 0] ^ _BAND_SALTS) + words[:, 1]).view(np.int64)
    return hashed


def pack(sk: Sketch) -> bytes:
    """Storage form: SIGNATURE_VERSION, the set size, then the signature (little-endian uint32s)."""
    return _PACKED.pack(_HEADER, sk.size, *sk.signature)


def unpack(data: bytes | None) -> Sketch:
    """The stored sketch; empty (similar to nothing) if missing, corrupt or of another
    SIGNATURE_VERSION, whose values mean something else."""
    if not data or len(data) != _PACKED.size or not data.startswith(_HEADER):
        return Sketch((), 0)
    _, size, *sig = _PACKED.unpack(data)
    return Sketch(tuple(sig), size)


def is_evidence(text: str, settings: NearDupSettings) -> bool:
    """Long enough to say anything about identity (short bodies are shared by unrelated posts)."""
    return len(_folded_codes(text)) >= settings.min_chars


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


# The sketch's estimate has a standard error of ~0.04 at 128 bins: a pair whose true Jaccard is
# 0.69 would merge or not by the luck of the hash constant. Estimates this close to a threshold
# are settled on the shingle sets themselves; clear cases never pay for it.
VERIFY_MARGIN = 0.1


def are_near_duplicate_texts(
    a: Sketch, b: Sketch, a_text: str, b_text: str, settings: NearDupSettings,
) -> bool:
    """The verdict storage uses: the sketches for clear cases, exact Jaccard and containment of
    the two texts' shingle sets for estimates within VERIFY_MARGIN of a threshold."""
    estimate = similarity(a.signature, b.signature)
    if estimate >= settings.threshold + VERIFY_MARGIN:
        return True
    if estimate < min(settings.threshold, settings.containment_min_jaccard) - VERIFY_MARGIN:
        return False
    left, right = shingles(a_text), shingles(b_text)
    if not left or not right:
        return False
    shared = len(left & right)
    jaccard = shared / len(left | right)
    if jaccard >= settings.threshold:
        return True
    smaller = min(len(left), len(right))
    return (jaccard >= settings.containment_min_jaccard and smaller >= settings.containment_min_shingles
            and shared / smaller >= settings.containment)
