"""NFKC normalisation, fast on the text feeds actually send.

`unicodedata.normalize` returns at once when a text is already NFKC, but Chinese text almost
never is: one full-width comma (，→,) sends the whole text down the slow path (decompose,
reorder, recompose), about 0.1 ms per 2,000 characters, paid by both the content hash and the
near-duplicate sketch of every article.

So the usual culprits are replaced first: each BMP character whose compatibility decomposition
is a single ASCII character (full-width forms, the ideographic space, circled digits, …) by
that character, in one vectorised table lookup, and "…" by "...". The result is exactly
NFKC(text), not an approximation: NFKC is the canonical composition of NFKD, NFKD decomposes
character by character and then reorders combining marks, and each replacement is the
character's own full decomposition (ASCII, so nothing to reorder); the replaced text has the
same NFKD, hence the same NFKC. It is then usually NFKC already, so `normalize` only checks it;
when it is not (other compatibility characters), `normalize` does the full work on it, with
the same result as on the original.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np

_ELLIPSIS = "\u2026"  # NFKD "...": common in Chinese text, three characters so not in the table
_CLIPPED = "\uffff"  # what _ascii_table gives a character beyond the BMP (and U+FFFF itself)


@cache
def _ascii_table() -> np.ndarray:
    """Code point -> the single ASCII character it decomposes to (itself otherwise), BMP only:
    354 characters; building it costs ~20 ms, once per process."""
    table = np.arange(0x10000, dtype=np.uint32)
    for code in range(0xA0, 0x10000):
        decomposed = unicodedata.normalize("NFKD", chr(code))
        if len(decomposed) == 1 and decomposed.isascii() and ord(decomposed) != code:
            table[code] = ord(decomposed)
    return table


def code_points(text: str) -> np.ndarray:
    """`text` as an array of code points (uint32). surrogatepass: a lone surrogate is kept as
    its code point, as str operations and normalize keep it."""
    return np.frombuffer(_to_utf32(text, "surrogatepass")[0], dtype=np.uint32)


def from_code_points(codes: np.ndarray) -> str:
    """The str of an array of code points (uint32), as code_points gives them."""
    return _from_utf32(np.ascontiguousarray(codes).data, "surrogatepass", True)[0]


# The codecs' own functions: str.encode("utf-32-le") first looks the codec up by name.
_to_utf32, _from_utf32 = codecs.utf_32_le_encode, codecs.utf_32_le_decode


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), byte for byte."""
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    if _ELLIPSIS in text:
        text = text.replace(_ELLIPSIS, "...")
    # surrogatepass: a lone surrogate survives the round trip as normalize would leave it.
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mapped = np.where(codes < 0x10000, _ascii_table()[codes & 0xFFFF], codes)
    return unicodedata.normalize("NFKC", mapped.tobytes().decode("utf-32-le", "surrogatepass"))


@dataclass(frozen=True, eq=False)
class NfkcForm:
    """A text's NFKC form as a str and as code points (uint32 array). An article's is computed
    once and serves both the content hash (the str) and the near-duplicate sketch (the code
    points): `source` is the text it is the form of, for those to check that it still is."""

    source: str
    text: str
    codes: np.ndarray

    def is_of(self, text: str) -> bool:
        return self.source is text or self.source == text


def nfkc_form(text: str, codes: np.ndarray | None = None) -> NfkcForm:
    """nfkc(text), with its code points: what nfkc does, and the array of the replaced text
    kept when `normalize` finds nothing more to do (it then returns the very same str).
    `codes`: code_points(text), if the caller has them."""
    if codes is None:
        codes = code_points(text)
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return NfkcForm(text, text, codes)
    mapped = _ascii_table().take(codes, mode="clip")  # beyond the BMP: U+FFFF's, restored next
    replaced = from_code_points(mapped)
    # Only U+FFFF maps to U+FFFF, so the clipped characters show as U+FFFF: a search of the str
    # is cheaper than codes.max() (~0.3 against ~2 µs), and those characters are rare.
    if _CLIPPED in replaced:
        astral = codes > 0xFFFF
        mapped[astral] = codes[astral]
        replaced = from_code_points(mapped)
    if _ELLIPSIS in replaced:  # after the table rather than before: the same string either way
        replaced = replaced.replace(_ELLIPSIS, "...")
        mapped = code_points(replaced)
    normal = unicodedata.normalize("NFKC", replaced)
    return NfkcForm(text, normal, mapped if normal is replaced else code_points(normal))
