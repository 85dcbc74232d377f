"""Feed routes: /feeds/all.*, /feeds/category/{slug}.*, /feeds/source/{id}.*, /feeds.opml.

Every feed is served from the render cache (worker.web.feedcache) with a strong ETag,
Last-Modified, Cache-Control, precompressed gzip, 304s, and HEAD.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse

from worker.core.opml import OpmlFeed, render_opml
from worker.core.render import FEED_MEDIA_TYPES
from worker.core.slugs import category_slug
from worker.publish import FORMATS, FeedRequest, UnknownFeed, build, feed_path
from worker.settings import get_settings
from worker.storage import feed_queries, repo
from worker.storage.db import get_engine, transaction
from worker.web.conditional import feed_response
from worker.web.feedcache import RenderCache, Rendered

router = APIRouter(tags=["feeds"])
F = TypeVar("F", bound=Callable[..., Any])
CACHE = RenderCache()

Q = Annotated[str | None, Query(max_length=200, description="Substring of title or text.")]
SINCE = Annotated[str | None, Query(description="RFC 3339 time: items published or updated since.")]
LIMIT = Annotated[int | None, Query(ge=1, description="Items (capped at FEEDWASH_FEED_MAX_LIMIT).")]
PAGE = Annotated[int | None, Query(ge=1, description="RFC 5005 page, 1 = oldest.")]
ALL = Annotated[bool, Query(description="Every article, not one item per near-duplicate cluster.")]


def get_and_head(path: str) -> Callable[[F], F]:
    """Register a GET route that also answers HEAD (one OpenAPI operation, not two)."""

    def register(func: F) -> F:
        router.head(path, include_in_schema=False)(func)
        return router.get(path)(func)

    return register


_OFFSET_AS_SPACE = re.compile(r"(?<=\d) (\d\d:?\d\d)$")


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    # An unencoded "+08:00" arrives as " 08:00" (a "+" in a query string is a space): read it
    # as the offset it was, instead of answering 400 to the URL a person typed.
    value = _OFFSET_AS_SPACE.sub(r"+\1", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"since={value!r} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise HTTPException(400, f"since={value!r} needs a time zone offset (RFC 3339)")
    return parsed


def serve_feed(request: Request, req: FeedRequest) -> Response:
    if req.fmt not in FORMATS:
        raise HTTPException(404, f"unknown feed format {req.fmt!r}")
    if req.page is not None and req.filtered:
        raise HTTPException(400, "page cannot be combined with q, since or limit")
    # No stored text holds a NUL (PostgreSQL refuses one even as a query parameter: a 500).
    if "\x00" in (req.q or ""):
        raise HTTPException(400, "q cannot contain a NUL character")
    if "\x00" in req.key:
        raise HTTPException(404, f"no {req.scope} {req.key!r}")
    settings = get_settings()
    base = settings.base_url.rstrip("/")
    query = request.url.query
    # atom:link rel="self" names exactly what was asked for, query included.
    self_url = base + feed_path(req.scope, req.key, req.fmt) + (f"?{query}" if query else "")
    req = replace(req, self_url=self_url)
    key = (settings.resolved_database_url(), base, settings.websub_hub, settings.feed_page_size, req)
    # The version is read before rendering: a write in between makes the next request's
    # version differ, so at worst one extra render, never a stale hit.
    version = feed_queries.articles_version(get_engine())
    rendered = CACHE.get(key, version)
    if rendered is None:
        with transaction() as session:
            try:
                doc = build(session, settings, req)
            except UnknownFeed as exc:
                raise HTTPException(404, str(exc)) from None
        rendered = Rendered.of(doc, FEED_MEDIA_TYPES[req.fmt])
        CACHE.put(key, version, rendered)
    return feed_response(request, rendered)


@get_and_head("/feeds/all.{fmt}")
def feed_all(request: Request, fmt: str, q: Q = None, since: SINCE = None, limit: LIMIT = None,
             page: PAGE = None, all: ALL = False) -> Response:
    """Every article: Atom (`.atom`), RSS 2.0 (`.rss`) or JSON Feed 1.1 (`.json`)."""
    return serve_feed(request, FeedRequest(fmt, "all", "", q, _since(since), limit, page, all=all))


@get_and_head("/feeds/category/{slug}.{fmt}")
def feed_category(request: Request, slug: str, fmt: str, q: Q = None, since: SINCE = None,
                  limit: LIMIT = None, page: PAGE = None, all: ALL = False) -> Response:
    """The articles of one category; the slug keeps Chinese characters (percent-encoded)."""
    canonical = category_slug(slug)
    if canonical and canonical != slug and fmt in FORMATS:  # a typed `CAT0`, `Cat 0`: one URL per feed
        target = feed_path("category", canonical, fmt)
        return RedirectResponse(f"{target}?{request.url.query}" if request.url.query else target, 301)
    return serve_feed(request, FeedRequest(fmt, "category", slug, q, _since(since), limit, page, all=all))


@get_and_head("/feeds/source/{source_id}.{fmt}")
def feed_source(request: Request, source_id: str, fmt: str, q: Q = None, since: SINCE = None,
                limit: LIMIT = None, page: PAGE = None, all: ALL = False) -> Response:
    """The articles one source (feed or seed folder) carried."""
    return serve_feed(request, FeedRequest(fmt, "source", source_id, q, _since(since), limit, page, all=all))


def output_feeds(fmt: str = "atom") -> list[OpmlFeed]:
    """Every output feed: everything, each category, each source."""
    base = get_settings().base_url.rstrip("/")
    with transaction() as session:
        categories = feed_queries.category_names(session)
        sources = repo.list_sources(session)
    feeds = [OpmlFeed(base + feed_path("all", "", fmt), "feedwash: all articles", ("All",), base + "/")]
    slugs = dict.fromkeys(category_slug(name) for name in categories)  # first name per slug wins
    names = {category_slug(name): name for name in reversed(categories)}
    feeds += [OpmlFeed(base + feed_path("category", s, fmt), f"feedwash: {names[s]}", ("Categories",),
                       base + "/") for s in slugs if s]
    feeds += [OpmlFeed(base + feed_path("source", str(s.id), fmt), f"feedwash: {s.title or s.url}",
                       ("Sources",), base + "/") for s in sources]
    return feeds


@get_and_head("/feeds.opml")
def feeds_opml(format: Annotated[str, Query(pattern="^(atom|rss|json)$")] = "atom") -> Response:
    """OPML 2.0 of every output feed, to subscribe to all of them in one import."""
    body = render_opml(output_feeds(format), "feedwash feeds", datetime.now(UTC))
    return Response(body, media_type="text/x-opml; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})
