"""Content identity: a versioned hash of the normalised cleaned text.

Bump HASH_VERSION whenever normalisation changes: old and new hashes then never collide
silently, and a re-hash migration can find every stale row by its prefix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

HASH_VERSION = "v2"  # v2: whitespace next to a non-ASCII character no longer counts
_WHITESPACE = re.compile(r"\s+")
# Between CJK characters, emoji or full-width punctuation a space carries no meaning, and
# whether a block boundary ends up as a space depends on the source's markup (issue 5).
_SPACE_BY_WIDE = re.compile(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ")


def normalise_text(text: str) -> str:
    """NFKC (full-width forms, compatibility characters), whitespace folded to one space, and
    spaces beside non-ASCII characters dropped."""
    folded = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return _SPACE_BY_WIDE.sub("", folded)


def content_hash(text: str, title: str = "", short_text_chars: int = 120) -> str:
    """`v2:<sha256>` of the normalised text.

    Below `short_text_chars` the body is no evidence of identity ("在网页中查看", an image, "0 likes
    0 saves" are shared by unrelated posts), so the normalised title joins the key.
    """
    body = normalise_text(text)
    key = body if len(body) >= short_text_chars else f"{normalise_text(title)}\n{body}"
    return f"{HASH_VERSION}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
