"""Fields derived from a cleaned article: reading length, language, lead image."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# Han, kana, hangul and CJK punctuation-free letter ranges: one character is one "word".
_CJK = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]+"
)
_KANA = re.compile(r"[\u3040-\u30ff]+")
_ASCII_LETTERS = re.compile(r"[A-Za-z]+")
_LATIN_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’.-][A-Za-z0-9\u00c0-\u024f]+)*")
_LETTER = re.compile(r"[^\W\d_]+")
# CJK Unified Ideographs: all letters (tests/test_derive.py checks it against _LETTER) and most of
# a Chinese text. guess_language counts them from the pieces between their runs, so the slow
# Unicode-category pattern only scans what is left (a space stands in for each run: no pattern
# here matches or joins across one).
_IDEOGRAPH_RUN = re.compile(r"[\u4e00-\u9fff]+")

# Images that say nothing about an article: the Sina app-download QR code that Sina's archive
# puts in every post's front matter, and random-placeholder services.
PLACEHOLDER_IMAGES = frozenset({
    "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png",
})
PLACEHOLDER_HOSTS = ("picsum.photos", "placehold.it", "placehold.co", "placeholder.com",
                     "via.placeholder.com", "dummyimage.com", "placekitten.com", "loremflickr.com",
                     "source.unsplash.com", "fakeimg.pl")
_PLACEHOLDER_SUFFIXES = tuple("." + host for host in PLACEHOLDER_HOSTS)


def reading_length(text: str) -> int:
    """CJK characters plus Latin words: "北京 AI 裁判 works well" is 4 + 3 = 7."""
    cjk = _count_chars(_CJK, text)  # runs, not characters, are matched: far fewer matches
    latin = len(_LATIN_WORD.findall(text))  # its characters exclude CJK, which thus separates
    return cjk + latin


def _count_chars(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _split_ideographs(text: str) -> tuple[int, str]:
    """How many CJK unified ideographs `text` has, and the text with each run of them a space."""
    pieces = _IDEOGRAPH_RUN.split(text)
    if len(pieces) == 1:
        return 0, text
    rest = " ".join(pieces)
    return len(text) - (len(rest) - (len(pieces) - 1)), rest


def guess_language(text: str) -> str:
    """"zh" when CJK characters are at least a fifth of the letters, "en" for mostly ASCII
    letters, else "und". Cheap on purpose: a share count, no model (feeds here are zh or en)."""
    ideographs, sample = _split_ideographs(text[:2000])
    letters = ideographs + _count_chars(_LETTER, sample)
    if letters < 10:
        return "und"
    cjk = ideographs + _count_chars(_CJK, sample)
    if cjk * 5 >= letters:
        return "ja" if _count_chars(_KANA, sample) * 5 >= cjk else "zh"
    return "en" if _count_chars(_ASCII_LETTERS, sample) * 10 >= letters * 8 else "und"


def is_placeholder_image(url: str | None) -> bool:
    if not url:
        return True
    url = url.strip()
    if url.replace("http://", "https://", 1) in PLACEHOLDER_IMAGES:
        return True
    host = (urlsplit(url).hostname or "").lower() if url.startswith(("http://", "https://", "//")) else ""
    if not host:
        return True  # relative or data: -> not usable as a feed's lead image
    # "." + host ends with ".h" exactly when host is h or a subdomain of it
    return ("." + host).endswith(_PLACEHOLDER_SUFFIXES)


def lead_image(declared: str | None, body_images: Iterable[str]) -> str | None:
    """The image the source declared (front matter, media:thumbnail) unless it is a known
    placeholder, else the first real image of the cleaned body."""
    if declared and not is_placeholder_image(declared):
        return declared.strip()
    return next((url for url in body_images if not is_placeholder_image(url)), None)
