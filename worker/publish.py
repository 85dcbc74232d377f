"""Stored articles -> output feed bytes. The web app and `feedwash export` both call this, so
they serve the same bytes.

A feed is a scope (everything, one category, one source) in a format, optionally narrowed by a
filtered view (?q=, ?since=, ?limit=) or cut into RFC 5005 pages (?page=N). Page N holds the
N-th `feed_page_size` articles counted from the oldest, so a full page is an archive document
whose bytes never change when newer articles arrive; the document without ?page= is the head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from worker.core.render import render
from worker.core.slugs import category_slug, slug_path
from worker.core.types import FeedItem, FeedMeta
from worker.settings import Settings
from worker.storage import dedup, feed_queries, repo
from worker.storage.feed_queries import Filters
from worker.storage.models import Article, Sighting, Source

FORMATS = ("atom", "rss", "json")
FEED_PATHS = {fmt: f"/feeds/all.{fmt}" for fmt in FORMATS}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownFeed(LookupError):
    """No such category or source, or a page number out of range (the web app answers 404)."""


@dataclass(frozen=True)
class FeedRequest:
    fmt: str
    scope: str = "all"  # "all", "category" or "source"
    key: str = ""  # the category slug or the source id
    q: str | None = None
    since: datetime | None = None
    limit: int | None = None
    page: int | None = None
    self_url: str | None = None  # the exact URL requested; None: the canonical one
    all: bool = False  # every article, not one item per near-duplicate cluster

    @property
    def filtered(self) -> bool:
        return bool(self.q) or self.since is not None or self.limit is not None or self.all


@dataclass(frozen=True)
class FeedDocument:
    body: bytes
    newest: datetime | None  # the newest item's updated time (HTTP Last-Modified)
    archive: bool  # a full RFC 5005 archive page: complete, will not change


def article_url(settings: Settings, article_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/articles/{article_id}"


def tag_id(settings: Settings, public_id: str) -> str:
    """RFC 4151 tag URI: stable however often the article is re-cleaned or re-imported."""
    return f"tag:{settings.tag_authority}:article:{public_id}"


def feed_path(scope: str, key: str, fmt: str) -> str:
    if scope == "category":
        return f"/feeds/category/{slug_path(key)}.{fmt}"
    if scope == "source":
        return f"/feeds/source/{key}.{fmt}"
    return f"/feeds/all.{fmt}"


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
    seen = list(sightings)
    if folded:
        seen += [s for _, member_sightings in cluster.others for s in member_sightings]
    shown = listed_sightings(seen)
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
        related_links=tuple(dict.fromkeys(u for u in links if u != article.link))[:LISTED_SIGHTINGS],
        extension={
            "content_hash": article.content_hash,
            "cluster_id": cluster.cluster_id,
            "duplicate_of": duplicate_of,
            "sources": [
                {"source": src.title or src.url, "url": s.url, "first_seen": s.first_seen_at.isoformat()}
                for s, src in shown
            ],
            "sightings": len(seen),
        },
    )


# A feed that repeats one story under thousands of entry keys gave its item one "sources" entry
# and one related link per sighting (3,000 of them in an audit): an item lists at most this many
# distinct (source, URL) pairs, the earliest first, and says how many sightings there were.
LISTED_SIGHTINGS = 20


def listed_sightings(seen: Sequence[tuple[Sighting, Source]]) -> list[tuple[Sighting, Source]]:
    """The first sighting of each distinct (source, URL), in the given order, at most
    LISTED_SIGHTINGS of them."""
    firsts: dict[tuple[int, str | None], tuple[Sighting, Source]] = {}
    for sighting, source in seen:
        firsts.setdefault((source.id, sighting.url), (sighting, source))
        if len(firsts) == LISTED_SIGHTINGS:
            break
    return list(firsts.values())


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


@dataclass(frozen=True)
class _Scope:
    title: str
    id: str
    filters: Filters


def _scope(session: Session, settings: Settings, req: FeedRequest) -> _Scope:
    feed_id = f"tag:{settings.tag_authority}:feed:{req.scope}"
    view = Filters(q=req.q, since=req.since, fold_clusters=not req.all)
    if req.scope == "all":
        return _Scope("feedwash: all articles", feed_id, view)
    if req.scope == "category":
        names = tuple(n for n in feed_queries.category_names(session) if category_slug(n) == req.key)
        if not req.key or not names:
            raise UnknownFeed(f"no category {req.key!r}")
        return _Scope(f"feedwash: {names[0]}", f"{feed_id}:{req.key}", replace(view, category_names=names))
    if req.scope == "source" and req.key.isdigit():
        source = session.get(Source, int(req.key))
        if source is not None:
            return _Scope(f"feedwash: {source.title or source.url}", f"{feed_id}:{source.id}",
                          replace(view, source_id=source.id))
    raise UnknownFeed(f"no source {req.key!r}")


def _page_url(base: str, path: str, page: int | None) -> str:
    return base + path + (f"?{urlencode({'page': page})}" if page else "")


def _paging_links(base: str, path: str, page: int | None, total: int, size: int) -> dict[str, str]:
    """RFC 5005 links. Paged feed (section 3): first = the head (newest), next = older, previous
    = newer, last = page 1 (oldest). Archived feed (section 4): prev-archive / next-archive
    between full pages, current = the head. An archive page's links never depend on how many
    articles came after it, so its bytes stay the same."""
    full = total // size
    newest_page = full + 1 if total % size else full
    links = {"first": _page_url(base, path, None)}
    if total:
        links["last"] = _page_url(base, path, 1)
    if page is None:
        if newest_page:
            links["next"] = _page_url(base, path, newest_page)
        if full:
            links["prev-archive"] = _page_url(base, path, full)
        return links
    if page > 1:
        links["next"] = _page_url(base, path, page - 1)
    links["previous"] = _page_url(base, path, page + 1) if page <= full else _page_url(base, path, None)
    if page <= full:
        links["current"] = _page_url(base, path, None)
        if page > 1:
            links["prev-archive"] = _page_url(base, path, page - 1)
        links["next-archive"] = _page_url(base, path, page + 1)
    return links


def build(session: Session, settings: Settings, req: FeedRequest) -> FeedDocument:
    """The feed document `req` names. Raises UnknownFeed for an unknown scope or page."""
    scope = _scope(session, settings, req)
    base = settings.base_url.rstrip("/")
    path = feed_path(req.scope, req.key, req.fmt)
    size = settings.feed_page_size
    links: dict[str, str] = {}
    archive = False
    if req.page is not None:
        total = feed_queries.count_articles(session, scope.filters)
        if not 1 <= req.page <= total // size + 1:
            raise UnknownFeed(f"no page {req.page} (there are {total // size + 1})")
        archive = req.page <= total // size
        articles = feed_queries.page_articles(session, scope.filters, req.page, size)
        links = _paging_links(base, path, req.page, total, size)
    else:
        limit = min(req.limit or settings.feed_limit, settings.feed_max_limit)
        articles = feed_queries.newest_articles(session, scope.filters, limit)
        if not req.filtered:
            total = feed_queries.count_articles(session, scope.filters)
            links = _paging_links(base, path, None, total, size)
            if settings.websub_hub:
                links = {"hub": settings.websub_hub, **links}
    sightings = repo.sightings_of(session, [a.id for a in articles])
    views = cluster_views(session, articles)
    items = [to_item(settings, a, sightings[a.id], views.get(a.id), folded=not req.all)
             for a in articles]
    newest = max((i.updated for i in items), default=None)
    feed_id = scope.id
    if req.filtered:  # a filtered view is another feed: its own id, stable for the same query
        params = {"q": req.q or "", "since": req.since.isoformat() if req.since else ""}
        if req.all:  # other items than the folded views: another feed (the limit is not identity)
            params["all"] = "true"
        feed_id += ":view:" + hashlib.sha256(urlencode(params).encode()).hexdigest()[:16]
    meta = FeedMeta(
        title=scope.title + (f" (page {req.page})" if req.page else ""),
        self_url=req.self_url or _page_url(base, path, req.page),
        home_url=base + "/",
        id=feed_id,
        updated=newest or EPOCH,
        archive=archive,
    )
    return FeedDocument(render(req.fmt, meta, items, links), newest, archive)


def build_feed(session: Session, settings: Settings, fmt: str, limit: int | None = None,
               include_duplicates: bool = False) -> bytes:
    """The `/feeds/all.<fmt>` document as `feedwash export` writes it: one item per cluster (its
    representative, listing where else the story was seen), or with `include_duplicates` (the
    `--all` view) every stored article. The bytes are those served at the matching query
    (`?limit=N&all=true`), whose URL is therefore the self link."""
    query = urlencode([*([("limit", limit)] if limit is not None else []),
                       *([("all", "true")] if include_duplicates else [])])
    self_url = settings.base_url.rstrip("/") + feed_path("all", "", fmt) + f"?{query}" if query else None
    req = FeedRequest(fmt=fmt, limit=limit, all=include_duplicates, self_url=self_url)
    return build(session, settings, req).body
