"""Fields derived from a cleaned article: reading length, language, lead image."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np

from worker.core.nfkc import code_points
from worker.core.urls import host

# What reading_length and guess_language count, as inclusive code point ranges. The definitions
# are the regexes in tests/test_derive.py (which checks the table below against them for every
# code point): CJK `[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff
# \U00020000-\U0002ffff]` (Han, kana, hangul: one character is one "word"), kana
# `[\u3040-\u30ff]`, ASCII letters `[A-Za-z]`, Latin words
# `[A-Za-z0-9\u00c0-\u024f]+(?:['’.-][A-Za-z0-9\u00c0-\u024f]+)*` and letters `[^\W\d_]`.
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF))
_CJK_ASTRAL = (0x20000, 0x2FFFF)
_KANA_RANGE = (0x3040, 0x30FF)
_ASCII_LETTER_RANGES = ((0x41, 0x5A), (0x61, 0x7A))
_LATIN_RANGES = (*_ASCII_LETTER_RANGES, (0x30, 0x39), (0xC0, 0x24F))
_JOINERS = "'’.-"  # join two Latin words into one ("it's", "3.5", "well-known")

# A code point's classes: bits of one byte of _class_table(). LATIN is bit 0, so `classes & LATIN`
# is 0 or 1 per character, and JOINER bit 1, so `classes >> 1 & 1` says "joiner".
LATIN, JOINER, CJK, KANA, ASCII_LETTER, LETTER = (1 << bit for bit in range(6))
# The same bits as 0-d uint8 arrays, for the array operations: numpy 2 converts a scalar operand
# on every operation and uses a 0-d array as it is (~0.3 µs less each; same results).
_LATIN_BIT, _CJK_BIT, _ONE = (np.array(value, dtype=np.uint8) for value in (LATIN, CJK, 1))
# Class byte -> the four counts guess_language needs, 16 bits each in one uint64: summed over at
# most 2,000 characters they cannot carry into each other.
_COUNT_FIELDS = ((CJK, 0), (KANA, 16), (ASCII_LETTER, 32), (LETTER, 48))
_PACKED_COUNTS = np.array(
    [sum(1 << shift for bit, shift in _COUNT_FIELDS if value & bit) for value in range(64)], dtype=np.uint64
)
LANGUAGE_SAMPLE = 2000  # guess_language reads this many characters


@cache
def _class_table() -> np.ndarray:
    """BMP code point -> its class bits (uint8). Built once per process (~10 ms)."""
    table = np.zeros(0x10000, dtype=np.uint8)
    for bit, ranges in ((CJK, _CJK_RANGES), (KANA, (_KANA_RANGE,)), (ASCII_LETTER, _ASCII_LETTER_RANGES),
                        (LATIN, _LATIN_RANGES)):
        for low, high in ranges:
            table[low:high + 1] |= bit
    for char in _JOINERS:
        table[ord(char)] |= JOINER
    letters = np.fromiter((_is_letter(chr(code)) for code in range(0x10000)), dtype=bool, count=0x10000)
    table[letters] |= LETTER
    return table


def _is_letter(char: str) -> bool:
    return char.isalnum() and not char.isdecimal()  # what `[^\W\d_]` matches (\w is isalnum or _)


def _astral_classes(code: int) -> int:
    in_cjk = _CJK_ASTRAL[0] <= code <= _CJK_ASTRAL[1]
    return (CJK if in_cjk else 0) | (LETTER if _is_letter(chr(code)) else 0)


def classify(text: str, codes: np.ndarray | None = None) -> np.ndarray:
    """The class bits of each character of `text` (uint8), in one table lookup. `codes`: the
    text's code points (uint32), if the caller has them."""
    if codes is None:
        codes = code_points(text)
    classes = _class_table().take(codes, mode="clip")  # beyond the BMP: U+FFFF's (none), fixed next
    if len(codes) and codes.max() > 0xFFFF:  # CJK extensions, emoji: rare, so asked one by one
        astral = np.flatnonzero(codes > 0xFFFF)
        classes[astral] = [_astral_classes(code) for code in codes[astral].tolist()]
    return classes


def _latin_words(classes: np.ndarray) -> int:
    """How many matches the Latin word pattern has: the runs of word characters, less the
    joiners with a word character on both sides (each joins two runs into one match)."""
    if not len(classes):
        return 0
    word = classes & _LATIN_BIT
    runs = int(word[0]) + int(np.count_nonzero(word[1:] > word[:-1]))
    joins = np.count_nonzero(classes[1:-1] >> _ONE & word[:-2] & word[2:])  # 1 only for joiners
    return runs - int(joins)


def _sample_counts(sample: np.ndarray) -> tuple[int, int, int, int]:
    """CJK characters, kana, ASCII letters and letters among (at most 2,000) classes."""
    packed = int(_PACKED_COUNTS.take(sample).sum())
    cjk, kana, ascii_letters, letters = ((packed >> shift) & 0xFFFF for _, shift in _COUNT_FIELDS)
    return cjk, kana, ascii_letters, letters


def _language(counts: tuple[int, int, int, int]) -> str:
    cjk, kana, ascii_letters, letters = counts
    if letters < 10:
        return "und"
    if cjk * 5 >= letters:
        return "ja" if kana * 5 >= cjk else "zh"
    return "en" if ascii_letters * 10 >= letters * 8 else "und"


def reading_length(text: str) -> int:
    """CJK characters plus Latin words: "北京 AI 裁判 works well" is 4 + 3 = 7."""
    return reading_length_and_language(text)[0]


def guess_language(text: str) -> str:
    """"zh" when CJK characters are at least a fifth of the letters of the first 2,000
    characters ("ja" if kana are a fifth of those), "en" for mostly (80 %) ASCII letters, else
    "und". Cheap on purpose: a share count, no model (feeds here are zh or en)."""
    return _language(_sample_counts(classify(text[:LANGUAGE_SAMPLE])))


def reading_length_and_language(text: str, codes: np.ndarray | None = None) -> tuple[int, str]:
    """reading_length(text) and guess_language(text), from one classification of the text.
    `codes`: the text's code points (uint32), if the caller has them."""
    classes = classify(text, codes)
    counts = _sample_counts(classes[:LANGUAGE_SAMPLE])
    cjk = counts[0] if len(classes) <= LANGUAGE_SAMPLE else int(np.count_nonzero(classes & _CJK_BIT))
    return cjk + _latin_words(classes), _language(counts)


# Images that say nothing about an article: the Sina app-download QR code that Sina's archive
# puts in every post's front matter, and random-placeholder services.
PLACEHOLDER_IMAGES = frozenset({
    "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",
})
PLACEHOLDER_HOSTS = ("picsum.photos", "placehold.it", "placehold.co", "placeholder.com",
                     "via.placeholder.com", "dummyimage.com", "placekitten.com", "loremflickr.com",
                     "source.unsplash.com", "fakeimg.pl")
_PLACEHOLDER_SUFFIXES = tuple("." + host for host in PLACEHOLDER_HOSTS)


def is_placeholder_image(url: str | None) -> bool:
    if not url:
        return True
    url = url.strip()
    if url.replace("http://", "https://", 1) in PLACEHOLDER_IMAGES:
        return True
    name = host(url) if url.startswith(("http://", "https://", "//")) else ""
    if not name:
        return True  # relative or data: -> not usable as a feed's lead image
    # "." + host ends with ".h" exactly when host is h or a subdomain of it
    return ("." + name).endswith(_PLACEHOLDER_SUFFIXES)


def lead_image(declared: str | None, body_images: Iterable[str]) -> str | None:
    """The image the source declared (front matter, media:thumbnail) unless it is a known
    placeholder, else the first real image of the cleaned body."""
    if declared and not is_placeholder_image(declared):
        return declared.strip()
    return next((url for url in body_images if not is_placeholder_image(url)), None)
