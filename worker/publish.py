"""Stored articles -> output feed bytes. The web app and `feedwash export` both call this, so
they serve the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from worker.core.render import render
from worker.core.types import FeedItem, FeedMeta
from worker.settings import Settings
from worker.storage import repo
from worker.storage.models import Article, Sighting, Source

FEED_PATHS = {"atom": "/feeds/all.atom", "rss": "/feeds/all.rss", "json": "/feeds/all.json"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def article_url(settings: Settings, article_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/articles/{article_id}"


def tag_id(settings: Settings, public_id: str) -> str:
    """RFC 4151 tag URI: stable however often the article is re-cleaned or re-imported."""
    return f"tag:{settings.tag_authority}:article:{public_id}"


def to_item(
    settings: Settings, article: Article, sightings: Sequence[tuple[Sighting, Source]]
) -> FeedItem:
    own_page = article_url(settings, article.id)
    links = [s.url for s, _ in sightings if s.url]
    return FeedItem(
        id=tag_id(settings, article.public_id),
        title=article.title,
        link=article.link or own_page,
        html=article.html,
        summary=article.summary,
        published=article.published_at,
        updated=max(article.updated_at, article.published_at),
        author=article.author,
        categories=tuple(article.categories or ()),
        image=article.lead_image,
        related_links=tuple(dict.fromkeys(u for u in links if u != article.link)),
        extension={
            "content_hash": article.content_hash,
            "cluster_id": None,
            "duplicate_of": None,
            "sources": [
                {"source": src.title or src.url, "url": s.url, "first_seen": s.first_seen_at.isoformat()}
                for s, src in sightings
            ],
        },
    )


def build_feed(session: Session, settings: Settings, fmt: str, limit: int | None = None,
               include_duplicates: bool = False) -> bytes:
    """The `/feeds/all.<fmt>` document. `include_duplicates` is the `--all` view; until near
    duplicates are folded (issue 5) every stored article is already distinct."""
    limit = min(limit or settings.feed_limit, settings.feed_max_limit)
    articles = repo.latest_articles(session, limit)
    sightings = repo.sightings_of(session, [a.id for a in articles])
    items = [to_item(settings, a, sightings[a.id]) for a in articles]
    base = settings.base_url.rstrip("/")
    meta = FeedMeta(
        title="feedwash: all articles",
        self_url=base + FEED_PATHS[fmt],
        home_url=base + "/",
        id=f"tag:{settings.tag_authority}:feed:all",
        updated=max((i.updated for i in items), default=EPOCH),
    )
    return render(fmt, meta, items)
