"""Near-duplicate fingerprints: MinHash over character shingles, banded for LSH lookup.

Character shingles need no tokenizer, so Chinese, Japanese and English text all work the same.
The signature is one-permutation MinHash (Li, Owen, Zhang 2012) with rotation densification
(Shrivastava & Li 2014): each shingle is hashed once and falls into one of `NUM_PERM` bins, the
bin keeps its smallest value. That is one hash per shingle instead of one per shingle *per
permutation*.

It runs on numpy arrays, not Python strings (~0.07 ms for an 8 KB article instead of ~1.6 ms):
the folded text becomes an array of code points, each window of `SHINGLE_CHARS` code points a
64-bit polynomial hash (wrapping uint64 arithmetic) finished with murmur3's fmix64, the smallest
hash of each bin (the bin is the top bits) comes from np.minimum.at and the number of distinct
hashes from a small hash table: no sort (a sort of the ~1,700 hashes was a third of the cost).

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


def _u64(value: int) -> np.ndarray:
    """A uint64 constant as a 0-d array. numpy 2 converts a scalar operand (np.uint64 or int) on
    every operation, a 0-d array it uses as it is: ~0.2-0.5 µs less per operation, and a sketch
    and its bands take some 40 operations on small arrays. The results are the same uint64s."""
    return np.array(value, dtype=_U64)


# The per-window polynomial's odd multiplier. Any odd value estimates Jaccard as well as any
# other (estimate minus true Jaccard over the labelled pairs: RMSE 0.021-0.030 for 30 of them,
# m1's crc32 scheme 0.022-0.029), but a labelled hard negative (true Jaccard 0.697) and the
# storage tests' reprint (0.682) sit within the estimate's noise of the 0.7 threshold, so which
# side each lands on is the luck of the multiplier: this one, like m1's, puts both on their
# labelled side (3 of the 30 tried do; docs/dedup.md).
_POLY = _u64(0xF519F96EE2385D25)
_POLY_SQUARED = _u64(0xF519F96EE2385D25 ** 2 % 2**64)
_FMIX_1, _FMIX_2 = _u64(0xFF51AFD7ED558CCD), _u64(0xC4CEB9FE1A85EC53)
_S33, _S32, _S25 = _u64(33), _u64(32), _u64(_VALUE_BITS)
_NO_TOP = _u64(1 << 32)  # above the top 32 bits of any hash: the minimum of an empty bin
_BIN_IDS = np.arange(NUM_PERM, dtype=np.int64)
_BIN_OFFSETS = _BIN_IDS * _BIN_SPACE  # the top 32 bits of the lowest hash of each bin
# _distinct_count's table: 2^13 slots, ~5 per hash of an 8 KB article (~1,700 hashes), so few
# hashes (~9 %) miss their slot; texts with more hashes than _POSITIONS (~100 KB) are sorted.
_SLOT_BITS = 13
_SLOT_SHIFT = _u64(64 - _SLOT_BITS)
_POSITIONS = np.arange(1 << 15, dtype=np.intp)
_POSITIONS.flags.writeable = False  # shared by every call (and thread)


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
_DROPPED_CODE = np.array(_DROPPED, dtype=np.uint32)  # 0-d: see _u64
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
    return folded[folded != _DROPPED_CODE]


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
    """murmur3's 64-bit finaliser: every input bit moves every output bit (a bijection). In place:
    `x` must be an array of the caller's own."""
    x = _fmix64_top(x)
    x ^= x >> _S33
    return x


def _fmix64_top(x: np.ndarray) -> np.ndarray:
    """fmix64 without its last step, `x ^= x >> 33`: that step leaves the top 33 bits as they
    are, so these have fmix64's top 32 bits (bin and value), and as a bijection of its input too
    the same number of distinct values. Works in place if `x` is writable."""
    x ^= x >> _S33
    x *= _FMIX_1
    x ^= x >> _S33
    x *= _FMIX_2
    return x


def _window_polynomials(codes: np.ndarray) -> np.ndarray:
    """One uint64 per window of SHINGLE_CHARS code points (one window if the text is shorter):
    the polynomial a shingle's hash is fmix64 of. A new array, the caller's to change."""
    wide = codes.astype(_U64)
    if len(codes) < SHINGLE_CHARS:
        poly = wide[:1].copy()
        for code in wide[1:]:  # Horner: c0*P^(n-1) + ... + c(n-1), modulo 2^64
            poly *= _POLY
            poly += code
        return poly
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
    return poly


def _signature_values(codes: np.ndarray) -> tuple[np.ndarray, int]:
    """The densified signature (int64 array of NUM_PERM values < 2^32) and the shingle count.

    A hash's top 32 bits are its bin (times _BIN_SPACE) plus its value in the bin, so the
    smallest of those per bin, less the bin's offset, is the bin's value. An empty bin borrows
    the value of the next non-empty bin to its right (past the end: the first one, a turn
    later), offset by the distance so it stays distinguishable: rotation densification.

    Neither needs the hashes sorted (a sort was a third of a sketch's cost): the minima come
    from one np.minimum.at, the count of distinct hashes from _distinct_count."""
    if not len(codes):
        return np.full(NUM_PERM, _EMPTY, dtype=np.int64), 0
    mixed = _fmix64_top(_window_polynomials(codes))
    tops = mixed >> _S32
    lowest = np.full(NUM_PERM, _NO_TOP, dtype=_U64)
    np.minimum.at(lowest, (tops >> _S25).view(np.int64), tops)  # bins < 128 as index integers
    values = lowest.astype(np.int64) - _BIN_OFFSETS
    empty = lowest == _NO_TOP
    if empty.any():
        filled = np.flatnonzero(~empty)
        source = np.searchsorted(filled, _BIN_IDS)  # the next non-empty bin, len(filled) past the end
        # value plus (source bin - bin) * _BIN_SPACE, plus a turn (NUM_PERM * _BIN_SPACE = 2^32)
        # for the bins that borrow from the first non-empty bin ("wrap")
        values = lowest[filled.take(source, mode="wrap")].astype(np.int64) - _BIN_OFFSETS
        values[source == len(filled)] += NUM_PERM * _BIN_SPACE
    return values, _distinct_count(mixed)


def _distinct_count(hashes: np.ndarray) -> int:
    """How many distinct values `hashes` (well-mixed uint64) holds, without sorting them all.

    Each hash is written to a slot picked by its top bits (some write wins, whichever); a hash
    equal to its slot's winner is a copy of it, so those hashes hold as many distinct values
    as there are winners. The others differ from every winner (an equal value has the same
    slot): a few, counted by sorting."""
    if len(hashes) > len(_POSITIONS):
        return _sorted_distinct_count(hashes)
    slots = (hashes >> _SLOT_SHIFT).view(np.int64)  # < 2^13: the same number as a signed one
    positions = _POSITIONS[:len(hashes)]
    table = np.empty(1 << _SLOT_BITS, dtype=np.intp)  # slots nobody writes are never read
    table[slots] = positions
    winners = table.take(slots)
    others = hashes[hashes.take(winners) != hashes]
    return int(np.count_nonzero(winners == positions)) + _sorted_distinct_count(others)


def _sorted_distinct_count(values: np.ndarray) -> int:
    if not len(values):
        return 0
    ordered = np.sort(values)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


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
