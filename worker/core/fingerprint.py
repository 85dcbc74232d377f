"""Content identity: a versioned hash of the normalised cleaned text.

Bump HASH_VERSION whenever normalisation changes: old and new hashes then never collide
silently, and a re-hash migration can find every stale row by its prefix.
"""

from __future__ import annotations

import hashlib
import re

from worker.core.nfkc import NfkcForm, nfkc

HASH_VERSION = "v2"  # v2: whitespace next to a non-ASCII character no longer counts

# A space (words are joined by single spaces) with a non-ASCII character on either side. It starts
# with the space, so the regex engine jumps from space to space.
_SPACE_BY_WIDE = re.compile(r" (?:(?<=[^\x00-\x7f] )|(?=[^\x00-\x7f]))")


def normalise_text(text: str) -> str:
    """NFKC (full-width forms, compatibility characters), whitespace folded to one space, and
    spaces beside non-ASCII characters dropped.

    Between CJK characters, emoji or full-width punctuation a space carries no meaning, and
    whether a block boundary ends up as a space depends on the source's markup (issue 5).
    tests/test_fingerprint.py checks the output against the two-regex definition: stored `v2:`
    hashes depend on it byte for byte.
    """
    return _fold_whitespace(nfkc(text))


def _fold_whitespace(text: str) -> str:
    """normalise_text's folding of an NFKC text. `str.split()` splits on exactly the characters
    the v2 definition's regex `\\s` matches (checked over every code point), so after the join
    every space stands between two words, and it stays only if both facing characters are ASCII."""
    joined = " ".join(text.split())
    return joined if joined.isascii() else _SPACE_BY_WIDE.sub("", joined)


def content_hash(
    text: str, title: str = "", short_text_chars: int = 120, form: NfkcForm | None = None
) -> str:
    """`v2:<sha256>` of the normalised text.

    Below `short_text_chars` the body is no evidence of identity ("在网页中查看", an image, "0 likes
    0 saves" are shared by unrelated posts), so the normalised title joins the key. `form`, the
    text's NFKC form if the caller has it (clean_entry does, for the sketch), saves computing it.
    """
    body = _fold_whitespace(form.text if form is not None and form.is_of(text) else nfkc(text))
    key = body if len(body) >= short_text_chars else f"{normalise_text(title)}\n{body}"
    return f"{HASH_VERSION}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
