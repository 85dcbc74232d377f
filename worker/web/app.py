"""ASGI app: `/feeds/all.{atom,rss,json}`, article pages, `/healthz`.

Feeds carry a strong ETag over their bytes, so a reader that polls every few minutes gets a
304 and no body while nothing changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from worker import __version__
from worker.core.render import FEED_MEDIA_TYPES
from worker.publish import FEED_PATHS, build_feed
from worker.settings import get_settings
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import Article

app = FastAPI(title="feedwash", version=__version__)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@app.api_route("/feeds/all.{fmt}", methods=["GET", "HEAD"])
def feed_all(fmt: str, request: Request, limit: int | None = None, all: bool = False) -> Response:
    if fmt not in FEED_MEDIA_TYPES:
        raise HTTPException(404, "unknown feed format")
    with transaction() as session:
        body = build_feed(session, get_settings(), fmt, limit, include_duplicates=all)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=FEED_MEDIA_TYPES[fmt], headers=headers)


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    with transaction() as session:
        articles = repo.latest_articles(session, 50)
        sources = repo.list_sources(session)
    return templates.TemplateResponse(
        request, "index.html", {"articles": articles, "sources": sources, "feeds": FEED_PATHS}
    )


@app.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(request: Request, article_id: int) -> HTMLResponse:
    with transaction() as session:
        article = session.get(Article, article_id)
        if article is None:
            raise HTTPException(404, "no such article")
        sightings = repo.sightings_of(session, [article_id])[article_id]
    return templates.TemplateResponse(
        request, "article.html", {"article": article, "sightings": sightings, "feeds": FEED_PATHS}
    )
