"""Entry -> CleanArticle: the pure heart shared by seed import, feed polling and reclean."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from worker.core.clean import CLEANER_VERSION, clean_html
from worker.core.fingerprint import content_hash
from worker.core.rules import Rule, matching_rules
from worker.core.text import summarize
from worker.core.types import CleanArticle, ParsedEntry
from worker.core.urls import strip_tracking


def clean_entry(
    entry: ParsedEntry,
    rules: Iterable[Rule],
    source_url: str | None = None,
    short_text_chars: int = 120,
) -> CleanArticle:
    applicable = matching_rules(rules, (entry.link, source_url, entry.base_url), entry.categories)
    cleaned = clean_html(entry.html, applicable, entry.base_url or entry.link)
    link = strip_tracking(entry.link) if entry.link else None
    if link != entry.link:
        entry = replace(entry, link=link)
    return CleanArticle(
        entry=entry,
        html=cleaned.html,
        text=cleaned.text,
        summary=summarize(cleaned.text),
        content_hash=content_hash(cleaned.text, entry.title, short_text_chars),
        cleaner_version=CLEANER_VERSION,
        removed=cleaned.removed,
    )

