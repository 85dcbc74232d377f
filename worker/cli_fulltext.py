"""The full-text half of the CLI (issue 8): `feeds set --full-text`, `articles refetch`,
`explain`. Plain functions; worker/cli.py registers them under their command names."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from worker import fulltext
from worker.cli_output import err, out
from worker.core.fulltext import FULL_TEXT_MODES, parse_full_text_mode
from worker.core.types import InputError
from worker.fulltext import PageOutcome
from worker.storage import pages, repo
from worker.storage.db import transaction
from worker.storage.models import Article

FULL_TEXT_HELP = f"Fetch the article page: {' | '.join(FULL_TEXT_MODES)} (auto: when the feed has a summary)."


def full_text_option(value: str | None) -> str | None:
    """`--full-text` validated; a bad value is a usage error naming it."""
    if value is None:
        return None
    try:
        return parse_full_text_mode(value, "--full-text")
    except InputError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None


def feeds_set(
    source_id: int,
    full_text: Annotated[str | None, typer.Option("--full-text", help=FULL_TEXT_HELP)] = None,
) -> None:
    """Change a source's settings."""
    mode = full_text_option(full_text)
    if mode is None:
        err.print("error: nothing to set (try --full-text)")
        raise typer.Exit(2)
    with transaction() as session:
        found = pages.set_full_text_mode(session, source_id, mode)
    if not found:
        err.print(f"error: no source {source_id}")
        raise typer.Exit(1)
    out.print(f"source {source_id}: full text {mode}", markup=False)


def print_outcomes(outcomes: list[PageOutcome]) -> int:
    """One line per page fetch; returns how many failed."""
    failed = 0
    for o in outcomes:
        failed += o.status == "error"
        line = f"{o.article_id}\tfull text {o.status}\t{o.message}\t{o.url}"
        typer.echo(line)
    return failed


def articles_refetch(article_id: int) -> None:
    """Fetch an article's page again (unconditionally) and store its full text."""
    outcomes = fulltext.refetch_article(article_id)
    if not outcomes:
        err.print(f"error: article {article_id} has no feed entry with a link to fetch")
        raise typer.Exit(1)
    raise typer.Exit(1 if print_outcomes(outcomes) else 0)


def content_provenance(session: Session, article_id: int) -> list[tuple[str, str]] | None:
    """(label, value) lines saying where an article's content came from: "feed", "seed",
    "page (rule <name>)" or "page (readability)", plus each page fetch and its outcome.
    For `feedwash explain` (and the admin API)."""
    article = session.get(Article, article_id)
    if article is None:
        return None
    sightings = repo.sightings_of(session, [article_id])[article_id]
    first_kind = sightings[0][1].kind if sightings else "feed"
    lines = [("content from", article.content_source or first_kind)]
    for sighting, source in sightings:
        lines.append(("seen in", f"{source.kind} {source.id} {source.url} ({sighting.entry_key})"))
    for page in pages.page_fetches_of(session, article_id):
        state = page.status if page.status != "done" else f"done: {page.content_source}"
        detail = f" ({page.error_kind}: {page.error})" if page.error else ""
        lines.append(("page", f"{page.url}: {state}{detail}; wanted because {page.reason}"))
    return lines
