"""Admin API under /api/: add, pause, resume and remove sources, trigger a poll, reclean.

Protected by a bearer token (FEEDWASH_ADMIN_TOKEN). Without a token configured the whole API is
off and answers 404, so a deployment that never set one exposes nothing. Work is handed to the
Celery workers by task name (send_task), so this process never imports task code.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Annotated, Any, Literal

from celery import Celery
from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from worker import ingest
from worker.settings import get_settings
from worker.storage import pages, polling, repo
from worker.storage.db import transaction
from worker.storage.models import Article, Source

_bearer = HTTPBearer(auto_error=False)


def require_admin(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    token = get_settings().admin_token
    if not token:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), token.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "bad or missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/api", tags=["admin"], dependencies=[Depends(require_admin)])


@lru_cache(maxsize=4)
def _celery(broker_url: str) -> Celery:
    return Celery("feedwash-admin", broker=broker_url)


def send_task(name: str, args: list[Any]) -> str:
    """Enqueue task `name` on the configured broker; returns the task id."""
    app = _celery(get_settings().resolved_broker_url())
    return str(app.send_task(name, args=args, queue="feedwash").id)


FullTextMode = Literal["never", "auto", "always"]


class NewSource(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="Feed URL")
    interval_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)
    title: str | None = None
    full_text: FullTextMode | None = Field(
        default=None, description="Fetch article pages: never, auto (summaries only) or always")


class SourceSettings(BaseModel):
    full_text: FullTextMode | None = None


class SourceOut(BaseModel):
    id: int
    kind: str
    url: str
    title: str | None
    status: str
    interval_minutes: int
    next_poll_reason: str | None
    full_text: str | None  # None: the deployment default (FEEDWASH_FULL_TEXT_DEFAULT)

    @classmethod
    def of(cls, s: Source) -> SourceOut:
        return cls(id=s.id, kind=s.kind, url=s.url, title=s.title, status=s.status,
                   interval_minutes=s.interval_minutes, next_poll_reason=s.next_poll_reason,
                   full_text=s.full_text)


class Queued(BaseModel):
    task: str
    task_id: str


def _source_or_404(source_id: int) -> Source:
    with transaction() as session:
        source = session.get(Source, source_id)
    if source is None:
        raise HTTPException(404, f"no source {source_id}")
    return source


@router.get("/sources", response_model=list[SourceOut])
def list_sources() -> list[SourceOut]:
    with transaction() as session:
        return [SourceOut.of(s) for s in repo.list_sources(session)]


@router.post("/sources", response_model=SourceOut, status_code=201)
def add_source(body: NewSource) -> SourceOut:
    """Add a feed (an existing URL keeps its settings)."""
    minutes = body.interval_minutes or get_settings().default_interval_minutes
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", body.url, ingest.utcnow(), minutes, body.title)
        if body.full_text:
            pages.set_full_text_mode(session, source_id, body.full_text)
    return SourceOut.of(_source_or_404(source_id))


@router.patch("/sources/{source_id}", response_model=SourceOut)
def change_source(source_id: int, body: SourceSettings) -> SourceOut:
    """Change a source's settings (the same ones as `feedwash feeds set`)."""
    _source_or_404(source_id)
    if body.full_text:
        with transaction() as session:
            pages.set_full_text_mode(session, source_id, body.full_text)
    return SourceOut.of(_source_or_404(source_id))


@router.post("/sources/{source_id}/pause", response_model=SourceOut)
def pause_source(source_id: int) -> SourceOut:
    """Stop polling a source until resumed (its articles stay published)."""
    with transaction() as session:
        found = polling.set_paused(session, source_id, "paused by operator")
    if not found:
        raise HTTPException(404, f"no source {source_id}")
    return SourceOut.of(_source_or_404(source_id))


@router.post("/sources/{source_id}/resume", response_model=SourceOut)
def resume_source(source_id: int) -> SourceOut:
    """Resume a paused or dead source: due at once, its error count reset (`feeds resume`)."""
    with transaction() as session:
        found = polling.resume(session, source_id, ingest.utcnow())
    if not found:
        raise HTTPException(404, f"no source {source_id}")
    return SourceOut.of(_source_or_404(source_id))


@router.delete("/sources/{source_id}", status_code=204)
def remove_source(source_id: int) -> None:
    """Remove a source, its sightings and the articles only it had."""
    with transaction() as session:
        if not repo.remove_source(session, source_id):
            raise HTTPException(404, f"no source {source_id}")


@router.post("/sources/{source_id}/poll", response_model=Queued, status_code=202)
def trigger_poll(source_id: int) -> Queued:
    """Queue a poll of this source now (Celery task worker.tasks.poll_source)."""
    _source_or_404(source_id)
    name = "worker.tasks.poll_source"
    return Queued(task=name, task_id=send_task(name, [source_id]))


@router.post("/articles/{article_id}/reclean", response_model=Queued, status_code=202)
def reclean(article_id: int) -> Queued:
    """Queue re-cleaning of one article with the current rules (worker.tasks.reclean_article)."""
    with transaction() as session:
        if session.get(Article, article_id) is None:
            raise HTTPException(404, f"no article {article_id}")
    name = "worker.tasks.reclean_article"
    return Queued(task=name, task_id=send_task(name, [article_id]))
