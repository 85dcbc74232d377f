"""Re-cleaning: run the current cleaner and rules over the raw bodies stored with each article
(issue 4). Idempotent: an article whose result is unchanged is not written at all, so running it
twice, or as a redelivered task, changes nothing more.

A new result whose content hash already belongs to another article is not stored (the hash is
unique: it would be a merge, which is dedup's call, not cleaning's); it is recorded as an ingest
error naming both articles, and the article keeps its old cleaned form.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker import config
from worker.core.pipeline import clean_entry
from worker.core.rules import Rule
from worker.core.types import CleanArticle, ParsedEntry
from worker.ingest import utcnow
from worker.settings import Settings, get_settings
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import Article, Sighting, Source

log = logging.getLogger(__name__)
# Columns a re-clean may change; anything else (title, dates, identity) is the source's.
CLEANED_COLUMNS = ("content_hash", "html", "text", "summary", "cleaner_version", "removed",
                   "language", "reading_length", "lead_image", "provenance")


@dataclass
class RecleanReport:
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # no raw body, hash conflicts


def article_ids(source_id: int | None = None) -> list[int]:
    """Articles with a stored raw body, optionally only those a source has sighted."""
    query = select(Article.id).where(Article.raw_html.is_not(None)).order_by(Article.id)
    if source_id is not None:
        sighted = select(Sighting.article_id).where(Sighting.source_id == source_id)
        query = query.where(Article.id.in_(sighted))
    with transaction() as session:
        return list(session.execute(query).scalars())


def reclean_article(article_id: int, settings: Settings | None = None) -> str:
    """Re-clean one article in one transaction. Returns "updated", "unchanged", or why not."""
    settings = settings or get_settings()
    rules = config.load_rules(settings.rules_dir)
    with transaction() as session:
        article = session.get(Article, article_id)
        if article is None:
            return f"article {article_id}: not found"
        if article.raw_html is None:
            return f"article {article_id}: no raw body stored (imported before re-cleaning existed)"
        return _reclean(session, article, rules, settings)


def _reclean(session: Session, article: Article, rules: tuple[Rule, ...], settings: Settings) -> str:
    entry, source = _stored_entry(session, article)
    cleaned = clean_entry(entry, rules, source.url if source and source.kind == "feed" else None,
                          settings.short_text_chars)
    values = changed_values(article, cleaned)
    if not values:
        return "unchanged"
    now = utcnow()
    if "content_hash" in values:
        owner = session.execute(
            select(Article.id).where(Article.content_hash == cleaned.content_hash)
        ).scalar_one_or_none()
        if owner is not None and owner != article.id:
            return _conflict(session, article, owner, source, now)
    if "html" in values or "text" in values:
        values["updated_at"] = now  # readers see a corrected article as updated
    try:
        with session.begin_nested():
            session.execute(update(Article).where(Article.id == article.id).values(**values))
    except IntegrityError:  # another article took the hash meanwhile
        return _conflict(session, article, None, source, now)
    return "updated"


def _stored_entry(session: Session, article: Article) -> tuple[ParsedEntry, Source | None]:
    """The entry as first received, rebuilt from the article row and its first sighting."""
    first = session.execute(
        select(Sighting, Source).join(Source, Source.id == Sighting.source_id)
        .where(Sighting.article_id == article.id).order_by(Sighting.first_seen_at, Sighting.id).limit(1)
    ).first()
    sighting, source = (first[0], first[1]) if first else (None, None)
    declared = (article.provenance or {}).get("declared_lead_image", article.lead_image)
    entry = ParsedEntry(
        entry_key=sighting.entry_key if sighting else article.public_id,
        title=article.title, html=article.raw_html or "", link=article.link, author=article.author,
        categories=tuple(article.categories or ()), published=article.published_at,
        updated=article.updated_at, lead_image=declared, base_url=article.raw_base_url,
    )
    return entry, source


def changed_values(article: Article, cleaned: CleanArticle) -> dict[str, Any]:
    new = {
        "content_hash": cleaned.content_hash, "html": cleaned.html, "text": cleaned.text,
        "summary": cleaned.summary, "cleaner_version": cleaned.cleaner_version,
        "removed": cleaned.removed, "language": cleaned.language,
        "reading_length": cleaned.reading_length, "lead_image": cleaned.lead_image,
        "provenance": cleaned.provenance,
    }
    return {name: value for name, value in new.items() if getattr(article, name) != value}


def _conflict(session: Session, article: Article, owner: int | None, source: Source | None,
              now: datetime) -> str:
    other = f"article {owner}" if owner is not None else "another article"
    message = (f"article {article.id}: re-cleaned content has the content hash of {other}; "
               "kept the previous cleaned version (merging duplicates is not re-cleaning's call)")
    log.warning(message)
    repo.record_error(session, source.id if source else None, f"article:{article.id}", message, now)
    return message


def reclean_all(source_id: int | None = None, settings: Settings | None = None) -> RecleanReport:
    """In-process re-clean of every stored article (of one source), one transaction each."""
    settings = settings or get_settings()
    report = RecleanReport()
    for article_id in article_ids(source_id):
        outcome = reclean_article(article_id, settings)
        if outcome == "updated":
            report.updated += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.skipped.append(outcome)
    return report
