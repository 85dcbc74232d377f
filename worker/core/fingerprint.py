"""Content identity: a versioned hash of the normalised cleaned text.

Bump HASH_VERSION whenever normalisation changes: old and new hashes then never collide
silently, and a re-hash migration can find every stale row by its prefix.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

HASH_VERSION = "v1"
_WHITESPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """NFKC (full-width forms, compatibility characters) then whitespace folded to one space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def content_hash(text: str, title: str = "", short_text_chars: int = 120) -> str:
    """`v1:<sha256>` of the normalised text.

    Below `short_text_chars` the body is no evidence of identity ("在网页中查看", an image, "0 likes
    0 saves" are shared by unrelated posts), so the normalised title joins the key.
    """
    body = normalise_text(text)
    key = body if len(body) >= short_text_chars else f"{normalise_text(title)}\n{body}"
    return f"{HASH_VERSION}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
