"""Derived text fields: summaries cut at sentence ends."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"[。！？!?…]|\.(?=\s|$)")
# Greedy: matches up to the last sentence end (backtracking from the end of the head).
_UP_TO_LAST_SENTENCE_END = re.compile(rf"(?s:.*)(?:{_SENTENCE_END.pattern})")


def summarize(text: str, limit: int = 200) -> str:
    """About `limit` characters of `text`, cut after the last sentence end that fits.

    Works on str, so never splits a character; falls back to a cut at the limit with "…".
    """
    # The whitespace-folded start of the text is the start of the folded text (a word cut at the
    # end is the start of that word), so a long text is folded only as far as the summary needs:
    # twice the limit (plus the cut's one) is enough unless half the start is whitespace.
    flat = " ".join(text[: 2 * limit + 2].split()) if limit > 0 else ""
    if len(flat) <= max(limit, 0):  # the start was all of it or too short: fold the whole text
        flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit + 1]
    last = _UP_TO_LAST_SENTENCE_END.match(head)
    if last and last.end() >= limit // 3:
        return head[: last.end()].strip()
    return head[:limit].rstrip() + "…"
