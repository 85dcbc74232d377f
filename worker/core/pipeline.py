"""Entry -> CleanArticle: the pure heart shared by seed import, feed polling and reclean."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from worker.core.clean import CLEANER_VERSION, clean_html
from worker.core.fingerprint import content_hash
from worker.core.rules import Rule, matching_rules
from worker.core.text import summarize
from worker.core.types import CleanArticle, ParsedEntry
from worker.core.urls import strip_tracking, web_url


def clean_entry(
    entry: ParsedEntry,
    rules: Iterable[Rule],
    source_url: str | None = None,
    short_text_chars: int = 120,
) -> CleanArticle:
    applicable = matching_rules(rules, (entry.link, source_url, entry.base_url), entry.categories)
    cleaned = clean_html(entry.html, applicable, entry.base_url or entry.link)
    link = web_url(entry.link)
    link = strip_tracking(link) if link else None
    lead_image = web_url(entry.lead_image)
    if (link, lead_image) != (entry.link, entry.lead_image):
        entry = replace(entry, link=link, lead_image=lead_image)
    return CleanArticle(
        entry=entry,
        html=cleaned.html,
        text=cleaned.text,
        summary=summarize(cleaned.text),
        content_hash=content_hash(cleaned.text, entry.title, short_text_chars),
        cleaner_version=CLEANER_VERSION,
        removed=cleaned.removed,
    )

