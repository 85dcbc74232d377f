"""Derived text fields: summaries cut at sentence ends."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[。！？!?…]|\.(?=\s|$)")


def summarize(text: str, limit: int = 200) -> str:
    """About `limit` characters of `text`, cut after the last sentence end that fits.

    Works on str, so never splits a character; falls back to a cut at the limit with "…".
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]].strip()
    return head[:limit].rstrip() + "…"
