"""Entry -> CleanArticle: the pure heart shared by seed import, feed polling and reclean."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from worker.core.clean import CLEANER_VERSION, clean_html
from worker.core.derive import lead_image, reading_length_and_language
from worker.core.fingerprint import content_hash
from worker.core.nfkc import code_points, nfkc_form
from worker.core.rules import Rule, matching_rules
from worker.core.text import summarize
from worker.core.types import CleanArticle, CleanedHtml, ParsedEntry
from worker.core.urls import strip_tracking, web_url


def clean_entry(
    entry: ParsedEntry,
    rules: Iterable[Rule],
    source_url: str | None = None,
    short_text_chars: int = 120,
) -> CleanArticle:
    return finish_entry(clean_body(entry, rules, source_url), short_text_chars)


@dataclass(frozen=True)
class CleanedBody:
    """An entry whose body is cleaned, before its derived fields (finish_entry)."""

    entry: ParsedEntry
    applied: tuple[Rule, ...]
    cleaned: CleanedHtml


def clean_body(entry: ParsedEntry, rules: Iterable[Rule], source_url: str | None = None) -> CleanedBody:
    """The first half of clean_entry: the site rules that match, and the cleaned HTML and text.

    A poll runs this for a whole chunk of entries before finish_entry for each: derived fields
    computed right after their article's cleaning ran ~2x slower than in a row of their own
    (the cleaner had pushed their tables out of the CPU caches); per chunk the two halves cost
    13 % less than entry by entry (benchmarks/ingest.py)."""
    applicable = matching_rules(rules, (entry.link, source_url, entry.base_url), entry.categories)
    return CleanedBody(entry, applicable, clean_html(entry.html, applicable, entry.base_url or entry.link))


def finish_entry(body: CleanedBody, short_text_chars: int = 120) -> CleanArticle:
    """The second half of clean_entry: URLs, content hash, summary and the other derived fields."""
    entry, cleaned = body.entry, body.cleaned
    link = web_url(entry.link)
    link = strip_tracking(link) if link else None
    declared_image = web_url(entry.lead_image)
    if (link, declared_image) != (entry.link, entry.lead_image):
        entry = replace(entry, link=link, lead_image=declared_image)
    codes = code_points(cleaned.text)
    form = nfkc_form(cleaned.text, codes)  # once for the content hash and the near-duplicate sketch
    length, language = reading_length_and_language(cleaned.text, codes)
    return CleanArticle(
        entry=entry,
        html=cleaned.html,
        text=cleaned.text,
        summary=summarize(cleaned.text),
        content_hash=content_hash(cleaned.text, entry.title, short_text_chars, form),
        cleaner_version=CLEANER_VERSION,
        removed=cleaned.removed,
        reading_length=length,
        language=language,
        lead_image=lead_image(entry.lead_image, cleaned.images),
        provenance=provenance(cleaned, body.applied, entry),
        nfkc_form=form,
    )


def provenance(cleaned: CleanedHtml, applied: Iterable[Rule], entry: ParsedEntry) -> dict[str, Any]:
    """What `feedwash explain` prints: the cleaner version, the site rules that matched, and per
    rule what it removed (count and the start of the first removal). `declared_lead_image` keeps
    the source's own image, which re-cleaning needs when it was a placeholder."""
    return {
        "cleaner_version": CLEANER_VERSION,
        "site_rules": [rule.name for rule in applied],
        "removed": {
            key: {"count": count, "sample": cleaned.samples.get(key, "")}
            for key, count in sorted(cleaned.removed.items())
        },
        "declared_lead_image": entry.lead_image,
    }
