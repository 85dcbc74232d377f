"""Stored articles -> output feed bytes. The web app and `feedwash export` both call this, so
they serve the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from worker.core.render import render
from worker.core.types import FeedItem, FeedMeta
from worker.settings import Settings
from worker.storage import dedup, repo
from worker.storage.models import Article, Sighting, Source

FEED_PATHS = {"atom": "/feeds/all.atom", "rss": "/feeds/all.rss", "json": "/feeds/all.json"}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def article_url(settings: Settings, article_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/articles/{article_id}"


def tag_id(settings: Settings, public_id: str) -> str:
    """RFC 4151 tag URI: stable however often the article is re-cleaned or re-imported."""
    return f"tag:{settings.tag_authority}:article:{public_id}"


@dataclass(frozen=True)
class ClusterView:
    """What an item needs to know about its cluster: the representative and the other members."""

    cluster_id: int | None = None
    representative: Article | None = None
    others: tuple[tuple[Article, tuple[tuple[Sighting, Source], ...]], ...] = ()


def to_item(
    settings: Settings, article: Article, sightings: Sequence[tuple[Sighting, Source]],
    cluster: ClusterView | None = None, folded: bool = False,
) -> FeedItem:
    """One feed item. `folded`: the item stands for its whole cluster, so the other members'
    sightings are listed as "also seen in" sources."""
    cluster = cluster or ClusterView()
    own_page = article_url(settings, article.id)
    shown = list(sightings)
    if folded:
        shown += [s for _, member_sightings in cluster.others for s in member_sightings]
    links = [s.url for s, _ in shown if s.url]
    links += [m.link or article_url(settings, m.id) for m, _ in cluster.others]
    rep = cluster.representative
    duplicate_of = tag_id(settings, rep.public_id) if rep is not None and rep.id != article.id else None
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
            "cluster_id": cluster.cluster_id,
            "duplicate_of": duplicate_of,
            "sources": [
                {"source": src.title or src.url, "url": s.url, "first_seen": s.first_seen_at.isoformat()}
                for s, src in shown
            ],
        },
    )


def cluster_views(session: Session, articles: Sequence[Article]) -> dict[int, ClusterView]:
    """article id -> its ClusterView, for every clustered article in `articles`."""
    cluster_ids = sorted({a.cluster_id for a in articles if a.cluster_id is not None})
    members = dedup.cluster_members(session, cluster_ids)
    reps = dedup.representatives(session, cluster_ids)
    member_sightings = repo.sightings_of(session, [m.id for ms in members.values() for m in ms])
    views: dict[int, ClusterView] = {}
    for article in articles:
        if article.cluster_id is None:
            continue
        group = members.get(article.cluster_id, [])
        rep = next((m for m in group if m.id == reps.get(article.cluster_id)), None)
        others = tuple((m, tuple(member_sightings.get(m.id, []))) for m in group if m.id != article.id)
        views[article.id] = ClusterView(article.cluster_id, rep, others)
    return views


def build_feed(session: Session, settings: Settings, fmt: str, limit: int | None = None,
               include_duplicates: bool = False) -> bytes:
    """The `/feeds/all.<fmt>` document: one item per cluster (its representative, listing where
    else the story was seen), or with `include_duplicates` every stored article."""
    limit = min(limit or settings.feed_limit, settings.feed_max_limit)
    articles = dedup.visible_articles(session, limit, include_duplicates)
    sightings = repo.sightings_of(session, [a.id for a in articles])
    views = cluster_views(session, articles)
    items = [to_item(settings, a, sightings[a.id], views.get(a.id), folded=not include_duplicates)
             for a in articles]
    base = settings.base_url.rstrip("/")
    meta = FeedMeta(
        title="feedwash: all articles",
        self_url=base + FEED_PATHS[fmt],
        home_url=base + "/",
        id=f"tag:{settings.tag_authority}:feed:all",
        updated=max((i.updated for i in items), default=EPOCH),
    )
    return render(fmt, meta, items)
