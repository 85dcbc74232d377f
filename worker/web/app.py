"""ASGI app: output feeds (worker.web.feeds), HTML pages, operator endpoints (worker.web.ops)
and the admin API (worker.web.admin).

Feeds are cached per articles version and carry strong ETags, so a reader that polls every few
minutes gets a 304 and no body while nothing changed; pages gzip through the middleware.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES

from worker import __version__
from worker.core.render import FEED_MEDIA_TYPES
from worker.publish import FEED_PATHS
from worker.settings import get_settings
from worker.storage.db import transaction
from worker.storage.models import Article
from worker.web import admin, feeds, ops, views

app = FastAPI(
    title="feedwash",
    version=__version__,
    description="Cleaned, deduplicated articles republished as Atom, RSS and JSON Feed. "
    "The admin API under /api/ needs `Authorization: Bearer $FEEDWASH_ADMIN_TOKEN`.",
)
# Feeds bring their own cached gzip bytes and Vary (worker.web.conditional): the middleware,
# which compresses on every request, handles pages and OPML only.
FEED_TYPES = tuple(t.split(";")[0] for t in FEED_MEDIA_TYPES.values())
app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6,
                   exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, *FEED_TYPES))
app.include_router(feeds.router)
app.include_router(ops.router)
app.include_router(admin.router)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _page_context(**values: object) -> dict[str, object]:
    settings = get_settings()
    return {"feeds": FEED_PATHS, "hub": settings.websub_hub, **values}


@app.get("/", response_class=HTMLResponse, tags=["pages"])
@app.head("/", include_in_schema=False)  # link checkers and uptime monitors send HEAD
def index(request: Request) -> HTMLResponse:
    """Output feeds with subscribe links, the newest articles, and per-source health."""
    with transaction() as session:
        context = views.index_context(session)
    return templates.TemplateResponse(request, "index.html", _page_context(**context))


@app.get("/articles/{article_id}", response_class=HTMLResponse, tags=["pages"])
@app.head("/articles/{article_id}", include_in_schema=False)
def article_page(request: Request, article_id: int) -> HTMLResponse:
    """One cleaned article, where it was seen, and its cluster."""
    with transaction() as session:
        article = session.get(Article, article_id)
        if article is None:
            raise HTTPException(404, "no such article")
        context = views.article_context(session, article)
    return templates.TemplateResponse(request, "article.html", _page_context(**context))
