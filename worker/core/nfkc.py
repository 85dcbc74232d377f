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

import unicodedata
from functools import cache

import numpy as np

_ELLIPSIS = "\u2026"  # NFKD "...": common in Chinese text, three characters so not in the table


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
