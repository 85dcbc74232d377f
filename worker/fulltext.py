"""Full text for feeds that only carry a summary (issue 8): queue during a poll, fetch after it.

- During a poll (worker.poll.store_entries), `PageQueue.consider` asks the pure decision
  (worker.core.fulltext) and marks the entry's page as wanted, inside the poll's transaction.
- After that transaction commits, the caller runs the fetches: worker.tasks.poll_source enqueues
  one `fetch_full_text(article_id)` task per article; `feedwash poll --once` calls
  `run_pending_fetches()` in-process. The poll never waits on a page.
- `fetch_full_text` goes through worker.fetch (limits, SSRF guard, politeness, conditional GET
  with the page's own validators), archives the page, decodes it (worker.core.decode.decode_html),
  extracts the article (site rule `content:` selector, else readability), cleans it with the
  same stages as any feed body and stores it through repo.store_article, so dedup applies: a page
  that is an article already stored (a seed) collapses onto it.
- Any failure leaves the summary article as it is and is recorded on the page fetch and in
  ingest_errors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from worker import config
from worker.core.decode import decode_html
from worker.core.extract import extract_main_content
from worker.core.fulltext import full_text_fetch_reason
from worker.core.pipeline import clean_entry
from worker.core.types import CleanArticle, ParsedEntry
from worker.fetch import FetchError, FetchResult, fetch
from worker.ingest import utcnow
from worker.settings import Settings, get_settings
from worker.storage import pages, repo
from worker.storage.db import transaction
from worker.storage.pages import PageTarget

log = logging.getLogger(__name__)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml")
TRANSIENT_KINDS = frozenset({"timeout", "network", "busy"})


class PageQueue:
    """The pages one poll wants; article ids to fetch once the poll's transaction commits."""

    def __init__(self, session: Session, source_id: int, settings: Settings) -> None:
        self.session = session
        self.source_id = source_id
        self.min_chars = settings.full_text_min_chars
        self.mode = pages.full_text_mode(session, source_id, settings.full_text_default)
        self.article_ids: list[int] = []

    def consider(
        self, entry: ParsedEntry, article: CleanArticle, article_id: int, now: datetime,
        *, fresh: bool = False,
    ) -> None:
        if not fresh:  # the feed's own content may just have been stored over earlier page content
            pages.forget_page_content(self.session, article_id, article.content_hash)
        reason = full_text_fetch_reason(self.mode, article.text, article.entry.link, self.min_chars)
        if reason is None or not article.entry.link:
            return
        pages.queue_page_fetch(self.session, self.source_id, entry.entry_key, article_id,
                               article.entry.link, reason, now)
        if article_id not in self.article_ids:
            self.article_ids.append(article_id)


@dataclass(frozen=True)
class PageOutcome:
    article_id: int  # the article the entry belongs to now (another one after a collapse)
    url: str
    status: str  # "done", "error" (summary kept), "retry" (transient, tried again), "busy"
    message: str = ""
    retry_after: float | None = None


def fetch_full_text(
    article_id: int, settings: Settings | None = None, *, force: bool = False, final: bool = True,
) -> list[PageOutcome]:
    """Fetch the pending pages of one article (every page of it with `force`, unconditionally).

    Idempotent: a page already done is not fetched again unless forced. `final=False` (a Celery
    attempt with retries left) leaves a transient failure pending, to be retried.
    """
    settings = settings or get_settings()
    with transaction() as session:
        targets = pages.page_targets(session, article_id, None if force else ("pending",))
    return [fetch_page(target, settings, force=force, final=final) for target in targets]


def run_pending_fetches(settings: Settings | None = None) -> list[PageOutcome]:
    """Every pending page fetch, in-process (`feedwash poll --once`: no broker)."""
    with transaction() as session:
        article_ids = pages.pending_article_ids(session)
    outcomes: list[PageOutcome] = []
    for article_id in article_ids:
        outcomes.extend(fetch_full_text(article_id, settings))
    return outcomes


def fetch_page(target: PageTarget, settings: Settings, *, force: bool, final: bool) -> PageOutcome:
    now = utcnow()
    try:
        result = _get(target, settings, force)
    except FetchError as exc:
        if exc.kind == "busy":  # nothing was sent: not the page's fault, try again later
            return PageOutcome(target.article_id, target.url, "busy", str(exc), exc.retry_after)
        transient = exc.kind in TRANSIENT_KINDS or (exc.status or 0) >= 500 or exc.status == 429
        return _failed(target, str(exc), exc.kind, now, final=final or not transient,
                       retry_after=exc.retry_after)
    content, headers = result.content, result.headers
    if result.not_modified:
        archived = _archived(target)
        if archived is None:  # the archive was pruned: fetch it whole
            return fetch_page(target, settings, force=True, final=final)
        content, headers = archived
    content_type = headers.get("content-type", "")
    if not is_html(content_type, content):
        return _failed(target, f"{target.url}: not an HTML page ({content_type or 'no Content-Type'})",
                       "not-html", now, final=True)
    return _store(target, result, content, headers, settings, now)


def _get(target: PageTarget, settings: Settings, force: bool) -> FetchResult:
    return fetch(target.url, etag=None if force else target.etag,
                 last_modified=None if force else target.last_modified, settings=settings,
                 extra_headers={"Accept": PAGE_ACCEPT})


def _archived(target: PageTarget) -> tuple[bytes, dict[str, str]] | None:
    if not target.payload_sha256:
        return None
    with transaction() as session:
        return pages.archived_page(session, target.payload_sha256)


def is_html(content_type: str, content: bytes) -> bool:
    media = content_type.split(";")[0].strip().lower()
    if media:
        return media in HTML_TYPES
    head = content[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _store(
    target: PageTarget, result: FetchResult, content: bytes, headers: dict[str, str], settings: Settings,
    now: datetime,
) -> PageOutcome:
    rules = config.load_rules(settings.rules_dir)
    page = decode_html(content, headers.get("content-type"))
    urls = (result.url, target.url, target.source_url)
    extraction = extract_main_content(page.text, urls, rules, target.entry.categories)
    if extraction is None:
        return _failed(target, f"{target.url}: no article found on the page", "no-content", now, final=True)
    entry = replace(target.entry, html=extraction.html, base_url=result.url)
    article = clean_entry(entry, rules, target.source_url, settings.short_text_chars)
    if len(article.text) < len(target.feed_text):  # extraction missed the article: keep the feed's
        return _failed(target, f"{target.url}: the page's article ({extraction.content_source}, "
                               f"{len(article.text)} characters) is shorter than the feed's text",
                       "page-shorter", now, final=True, record=False)
    with transaction() as session:
        sha = pages.archive_page(session, target.source_id, result.url, content, headers, now)
        stored = repo.store_article(session, target.source_id, target.source_url, article,
                                    target.raw_hash, now)
        pages.record_page_done(session, target.id, extraction.content_source, now,
                               etag=result.headers.get("etag"),
                               last_modified=result.headers.get("last-modified"), payload_sha256=sha)
        article_id = stored.article_id
        if article_id is None:  # the page's content was deleted by an operator: tombstoned
            article_id = target.article_id
        elif article_id == target.article_id:
            pages.set_content_source(session, article_id, extraction.content_source)
        else:  # the page is an article already stored (a seed, another feed's full text)
            pages.collapse_article(session, target.article_id, article_id)
    log.info("full text of %s: %s, %d characters", target.url, extraction.content_source, len(article.text))
    return PageOutcome(article_id, target.url, "done", extraction.content_source)


def _failed(
    target: PageTarget, message: str, kind: str, now: datetime, *, final: bool,
    retry_after: float | None = None, record: bool = True,
) -> PageOutcome:
    """The summary stays. `record=False`: not worth an ingest error (the feed was complete)."""
    log.warning("full text failed: %s", message)
    with transaction() as session:
        pages.record_page_error(session, target.id, message, kind, now, final=final)
        if record:
            repo.record_error(session, target.source_id, target.url,
                              f"full text of article {target.article_id}: {message}", now)
    return PageOutcome(target.article_id, target.url, "error" if final else "retry", message, retry_after)


def pending_page_article_ids(queued_before: datetime) -> list[int]:
    """Pages still pending since before `queued_before`: their task was lost (broker restart)."""
    with transaction() as session:
        return pages.pending_article_ids(session, queued_before)


def refetch_article(article_id: int, settings: Settings | None = None) -> list[PageOutcome]:
    """`feedwash articles refetch ID`: fetch the article's page(s) again, unconditionally. An
    article never queued (full text off, or the feed looked complete) is queued first."""
    now = utcnow()
    with transaction() as session:
        queued = pages.queue_sightings_of(session, article_id, now)
    if not queued:
        return []
    return fetch_full_text(article_id, settings, force=True)
