"""The polling half of the operator's CLI (issue 3): show, pause, resume, OPML, reprocess.

Plain functions; worker/cli.py registers them under their command names (a contract).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from worker import ingest, poll
from worker.cli_output import err, out, print_table
from worker.core.opml import OpmlFeed, parse_opml, render_opml
from worker.core.types import InputError
from worker.settings import get_settings
from worker.storage import polling, repo
from worker.storage.db import transaction
from worker.storage.models import Source


def when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else ""


def parse_headers(values: list[str] | None) -> dict[str, str] | None:
    """`--header 'Name: value'` (repeatable) as a dict; a malformed one is a usage error."""
    if not values:
        return None
    headers = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            err.print(f"error: --header {value!r} is not 'Name: value'", markup=False)
            raise typer.Exit(2)
        headers[name.strip()] = content.strip()
    return headers


def feeds_show(source_id: int, limit: Annotated[int, typer.Option(help="Fetches to show.")] = 20) -> None:
    """A source's settings, state and recent fetch history."""
    with transaction() as session:
        source = session.get(Source, source_id)
        fetches = polling.recent_fetches(session, source_id, limit)
    if source is None:
        err.print(f"error: no source {source_id}")
        raise typer.Exit(1)
    settings = get_settings()
    fields = [
        ("url", source.url), ("title", source.title or ""), ("status", source.status),
        ("paused/dead because", source.paused_reason or ""),
        ("interval (rate unknown)", f"{source.interval_minutes} min"),
        ("min / max interval", f"{source.min_interval_minutes or settings.min_interval_minutes} / "
                               f"{source.max_interval_minutes or settings.max_interval_minutes} min"),
        ("extra headers", ", ".join(sorted(source.extra_headers or {}))),  # names only: may be keys
        ("categories", ", ".join(source.categories or [])),
        ("full text", source.full_text or f"{settings.full_text_default} (the default)"),
        ("etag / last-modified", f"{source.etag or '-'} / {source.last_modified or '-'}"),
        ("entry rate", f"{source.entry_rate_per_day:.2f}/day" if source.entry_rate_per_day is not None
         else "unknown"),
        ("last success", when(source.last_success_at)), ("failing since", when(source.failing_since)),
        ("errors in a row", str(source.error_count)), ("last error", source.last_error or ""),
        ("permanent redirect", f"{source.redirect_url} ({source.redirect_streak}/3)"
         if source.redirect_url else ""),
        ("next poll", f"{when(source.next_poll_at)}  {source.next_poll_reason or ''}"),
    ]
    for name, value in fields:
        out.print(f"{name:>24}: {value}", markup=False, highlight=False)
    table = Table("started", "ms", "HTTP", "outcome", "bytes", "new", "next poll", "why", "message")
    for f in fetches:
        table.add_row(when(f.started_at), str(f.duration_ms), str(f.status_code or ""), f.outcome,
                      str(f.bytes), str(f.new_entries), when(f.next_poll_at), f.reason or "",
                      (f.message or "")[:100])
    print_table(table)


def feeds_pause(source_id: int) -> None:
    """Stop polling a source until `feeds resume`."""
    with transaction() as session:
        found = polling.set_paused(session, source_id, "paused by operator")
    _done(found, source_id, "paused")


def feeds_resume(source_id: int) -> None:
    """Poll a paused or dead source again, from now, with its error count reset."""
    with transaction() as session:
        found = polling.resume(session, source_id, ingest.utcnow())
    _done(found, source_id, "resumed")


def _done(found: bool, source_id: int, verb: str) -> None:
    if not found:
        err.print(f"error: no source {source_id}")
        raise typer.Exit(1)
    out.print(f"{verb} source {source_id}")


def feeds_import_opml(file: Annotated[Path, typer.Argument(help="OPML 2.0 file.")]) -> None:
    """Add every feed of an OPML file, with its folders and categories."""
    try:
        feeds = parse_opml(file.read_bytes(), str(file))
    except (OSError, InputError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    interval = get_settings().default_interval_minutes
    added = 0
    with transaction() as session:
        for feed in feeds:
            source_id, created = repo.add_source(session, "feed", feed.url, ingest.utcnow(), interval,
                                                 feed.title)
            added += created
            polling.add_categories(session, source_id, feed.categories)
    out.print(f"{len(feeds)} feeds imported from {file}: {added} new, {len(feeds) - added} already there")


def feeds_export_opml() -> None:
    """Write every feed as OPML 2.0 (folders and categories) to stdout."""
    with transaction() as session:
        sources = repo.list_sources(session, "feed")
        feeds = [OpmlFeed(s.url, s.title, tuple(s.categories or ())) for s in sources]
    sys.stdout.buffer.write(render_opml(feeds, "feedwash subscriptions", ingest.utcnow()))
    sys.stdout.buffer.flush()


def reprocess(source_id: int) -> None:
    """Re-run parse/clean/store over a source's archived payloads, newest first, without fetching."""
    report = poll.reprocess_source(source_id)
    for message in report.errors:
        err.print(f"error: {message}", markup=False)
    if not report.url:  # no such source: the error says so, and there is no result to print
        raise typer.Exit(1)
    typer.echo(f"{report.source_id}\t{report.new} new\t{report.duplicates} re-stored\t{report.url}")
    if report.status == "error" and not (report.new or report.duplicates):
        raise typer.Exit(1)
