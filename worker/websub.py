"""WebSub publisher (W3C WebSub section 7 and the de-facto publish ping of hubs such as
Google's and Superfeedr's): after new or changed articles are committed, tell the hub which
output feeds changed with `hub.mode=publish&hub.url=<feed URL>`; the hub then fetches them.

Pinging is best effort: a hub that is down is logged, never raised, so ingest goes on and the
feeds are still there for readers that poll.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from worker.core.slugs import category_slug
from worker.fetch import FetchError, post_form
from worker.publish import FORMATS, feed_path
from worker.settings import Settings, get_settings
from worker.storage.db import transaction
from worker.storage.models import Article, Sighting

log = logging.getLogger(__name__)


def changed_feed_urls(session: Session, settings: Settings, since: datetime) -> list[str]:
    """Absolute URLs of the head feeds (every format) showing an article created, updated or
    newly sighted at or after `since`."""
    changed = session.execute(select(Article.id, Article.categories).where(
        or_(Article.created_at >= since, Article.updated_at >= since))).all()
    sighted = session.execute(select(Sighting.article_id, Sighting.source_id).where(
        or_(Sighting.first_seen_at >= since,
            Sighting.article_id.in_([article_id for article_id, _ in changed])))).all()
    if not changed and not sighted:
        return []
    scopes: dict[tuple[str, str], None] = {("all", ""): None}
    for _, categories in changed:
        scopes.update({("category", category_slug(c)): None for c in categories or () if category_slug(c)})
    scopes.update({("source", str(source_id)): None for _, source_id in sighted})
    base = settings.base_url.rstrip("/")
    return [base + feed_path(scope, key, fmt) for scope, key in scopes for fmt in FORMATS]


def notify_hub(urls: Sequence[str], settings: Settings | None = None) -> int:
    """Ping the hub once per URL; returns how many pings it accepted (2xx)."""
    settings = settings or get_settings()
    if not settings.websub_hub:
        return 0
    accepted = 0
    for url in urls:
        try:
            status = post_form(settings.websub_hub, [("hub.mode", "publish"), ("hub.url", url)],
                               settings=settings)
        except FetchError as exc:
            log.warning("WebSub hub %s unreachable for %s: %s", settings.websub_hub, url, exc)
            continue
        if 200 <= status < 300:
            accepted += 1
        else:
            log.warning("WebSub hub %s answered %s for %s", settings.websub_hub, status, url)
    return accepted


def announce_changes(since: datetime, settings: Settings | None = None) -> list[str]:
    """After a commit: ping the hub for every feed that changed since `since`. Without a hub
    configured this does nothing (not even a query). Returns the URLs pinged."""
    settings = settings or get_settings()
    if not settings.websub_hub:
        return []
    try:
        with transaction() as session:
            urls = changed_feed_urls(session, settings, since)
    except Exception:  # never fail an ingest that already committed
        log.exception("WebSub: could not list changed feeds")
        return []
    notify_hub(urls, settings)
    return urls
