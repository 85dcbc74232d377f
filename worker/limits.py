"""Bounds on what one entry can make a worker do (docs/reliability.md "Memory").

Cleaning an entry costs ~15x its HTML in memory (parse tree, sanitiser, text): one 9 MB entry
took a worker past 300 MB RSS. Real articles are well under 1 MB, so a larger entry body is cut
to the limit before cleaning (the parser closes what the cut leaves open) and the cut is
recorded as a warning naming the entry.
"""

from __future__ import annotations

from dataclasses import replace

from worker.core.types import ParsedEntry


def bounded_entry(entry: ParsedEntry, max_chars: int) -> tuple[ParsedEntry, str | None]:
    """(the entry, cut to `max_chars` of HTML if needed; a warning when it was cut)."""
    if len(entry.html) <= max_chars:
        return entry, None
    warning = (f"entry {entry.entry_key}: content of {len(entry.html)} characters cut to {max_chars} "
               "before cleaning")
    return replace(entry, html=entry.html[:max_chars]), warning
