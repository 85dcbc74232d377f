"""`feedwash` command line. Command names and flags are a contract scripts rely on: keep them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from worker import cli_fulltext, cli_polling, config, fulltext, ingest
from worker.cli_output import err, out, print_table
from worker.gctuning import tune_for_ingest
from worker.progress import tracker
from worker.settings import get_settings
from worker.storage import migrate, polling, repo
from worker.storage.db import get_engine, transaction


class _Cli(typer.Typer):
    """The `feedwash` command. Two mistakes are one line saying what to fix instead of a
    traceback: a FEEDWASH_* variable the settings refuse, and a database without feedwash's
    newest schema (a fresh checkout before `db upgrade`, or after pulling a migration)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:  # a FEEDWASH_* variable the settings refuse
            for problem in exc.errors():
                name = "FEEDWASH_" + str(problem["loc"][0]).upper()
                err.print(f"error: {name}: {problem['msg'].removeprefix('Value error, ')}")
            raise SystemExit(2) from None
        except DBAPIError:
            engine = get_engine()
            if _schema_is_current(engine):
                raise
            err.print(f"error: {engine.url.render_as_string(hide_password=True)} is not at feedwash's "
                      "newest schema: run `feedwash db upgrade`")
            raise SystemExit(2) from None


def _schema_is_current(engine: Engine) -> bool:
    try:
        return migrate.is_current(engine)
    except DBAPIError:  # the database itself is unreachable: the original error says more
        return True


app = _Cli(help="feedwash: poll feeds and seed posts, clean, deduplicate, republish.",
           no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
seeds_app = typer.Typer(help="Seed posts (Markdown + YAML front matter + HTML body).", no_args_is_help=True)
feeds_app = typer.Typer(help="Feed sources.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seeds_app, name="seeds")
app.add_typer(feeds_app, name="feeds")
rules_app = typer.Typer(help="Site cleaning rules (config/rules/*.yaml).", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
articles_app = typer.Typer(help="Stored articles: provenance, versions, clusters.", no_args_is_help=True)
app.add_typer(articles_app, name="articles")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (creates the database on first run), then fingerprint
    articles that have no near-duplicate sketch (a new sketch version's migration clears them)."""
    from worker import articles

    url = get_settings().resolved_database_url()
    migrate.upgrade(url)
    out.print(f"database at head: {get_engine().url.render_as_string(hide_password=True)}")
    done, joined = articles.reindex(ingest.utcnow())
    if done:
        out.print(f"{done} articles fingerprinted for near duplicates, {joined} joined a cluster")


@seeds_app.command("import")
def seeds_import(directory: Annotated[Path, typer.Argument(help="Folder of seed posts.")]) -> None:
    """Import every new or changed seed file; unchanged files cost one stat() each."""
    if not directory.is_dir():
        err.print(f"error: {directory} is not a folder")
        raise typer.Exit(2)
    tune_for_ingest()
    report = ingest.import_seeds(directory, progress=tracker(f"importing {directory}"))
    for message in report.errors:
        err.print(f"error: {message}", markup=False)
    out.print(f"{report.imported} imported, {report.updated} updated, {report.duplicates} duplicates, "
              f"{report.unchanged} unchanged, {len(report.errors)} errors")


@feeds_app.command("add")
def feeds_add(
    url: str,
    interval: Annotated[int | None, typer.Option(help="Minutes between polls.")] = None,
    min_interval: Annotated[int | None, typer.Option(help="Never poll more often (minutes).")] = None,
    max_interval: Annotated[int | None, typer.Option(help="Never poll less often (minutes).")] = None,
    header: Annotated[list[str] | None, typer.Option(help="Extra request header 'Name: value' (repeatable).")
                      ] = None,
    full_text: Annotated[str | None, typer.Option("--full-text", help=cli_fulltext.FULL_TEXT_HELP)] = None,
) -> None:
    """Add a feed to poll (an existing URL keeps its settings, except the options given)."""
    minutes = interval or get_settings().default_interval_minutes
    mode = cli_fulltext.full_text_option(full_text)
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", url, ingest.utcnow(), minutes)
        # A known URL keeps its settings but takes the options given, --interval included.
        polling.configure_source(session, source_id, interval_minutes=interval,
                                 min_interval_minutes=min_interval,
                                 max_interval_minutes=max_interval,
                                 extra_headers=cli_polling.parse_headers(header), full_text=mode)
    typer.echo(f"{source_id}\t{url}")


@feeds_app.command("list")
def feeds_list() -> None:
    """Every source with its status, last success, last error, error count and next poll (and why)."""
    with transaction() as session:
        sources = repo.list_sources(session)
    table = Table("id", "kind", "status", "url", "last success", "errors", "next poll", "why", "last error")
    for s in sources:
        table.add_row(str(s.id), s.kind, s.status, s.url, _when(s.last_success_at), str(s.error_count),
                      _when(s.next_poll_at), s.next_poll_reason or "", (s.last_error or "")[:80])
    print_table(table)


feeds_app.command("show")(cli_polling.feeds_show)
feeds_app.command("pause")(cli_polling.feeds_pause)
feeds_app.command("resume")(cli_polling.feeds_resume)
feeds_app.command("import-opml")(cli_polling.feeds_import_opml)
feeds_app.command("export-opml")(cli_polling.feeds_export_opml)
feeds_app.command("set")(cli_fulltext.feeds_set)


@feeds_app.command("remove")
def feeds_remove(source_id: int) -> None:
    """Remove a source, its sightings, and the articles only it had."""
    with transaction() as session:
        removed = repo.remove_source(session, source_id)
    if not removed:
        err.print(f"error: no source {source_id}")
        raise typer.Exit(1)
    out.print(f"removed source {source_id}")


@feeds_app.command("sync")
def feeds_sync() -> None:
    """Add the sources listed in the sources file (FEEDWASH_SOURCES_FILE)."""
    from worker.core.types import InputError

    settings = get_settings()
    try:
        sources = config.load_sources(settings.sources_file)
    except InputError as exc:  # `run` starts with this: say which file is broken and stop
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    count = ingest.sync_sources(sources)
    out.print(f"synced {count} sources from {settings.sources_file}")


@articles_app.command("show")
def articles_show(article_id: int) -> None:
    """Print an article's sightings, versions and near-duplicate cluster."""
    from worker import articles

    with transaction() as session:
        lines = articles.describe(session, article_id)
    if lines is None:
        err.print(f"error: no article {article_id}")
        raise typer.Exit(1)
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)


@articles_app.command("delete")
def articles_delete(article_id: int) -> None:
    """Delete an article and leave a tombstone, so no later poll or import brings it back."""
    from worker import articles

    with transaction() as session:
        deleted = articles.delete(session, article_id, ingest.utcnow())
    if not deleted:
        err.print(f"error: no article {article_id}")
        raise typer.Exit(1)
    out.print(f"deleted article {article_id} (tombstoned)")


@articles_app.command("reindex")
def articles_reindex() -> None:
    """Fingerprint articles that have no near-duplicate sketch (`db upgrade` also does it)."""
    from worker import articles

    done, joined = articles.reindex(ingest.utcnow())
    out.print(f"{done} articles indexed, {joined} joined a cluster")


@app.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll due sources once and exit.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Poll every source now, due or not.")] = False,
) -> None:
    """Poll due feeds in this process (no broker needed). Without --once, keep polling."""
    tune_for_ingest()
    while True:
        failed = 0
        for source_id in ingest.due_source_ids(force=force, limit=None):
            report = ingest.poll_source(source_id)
            failed += report.status == "error"
            line = (f"{report.source_id}\t{report.status}\t{report.new} new\t"
                    f"{report.duplicates} duplicates\t{report.unchanged} unchanged\t{report.url}")
            typer.echo(line)
            for message in report.errors:
                err.print(f"error: {message}", markup=False)
        # Full text (issue 8): the pages these polls want, in-process, after their commits.
        failed += bool(cli_fulltext.print_outcomes(fulltext.run_pending_fetches()))
        if once:
            raise typer.Exit(1 if failed else 0)
        force = False
        time.sleep(get_settings().dispatch_interval_seconds)


app.command("reprocess")(cli_polling.reprocess)
articles_app.command("refetch")(cli_fulltext.articles_refetch)


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="atom, rss or json.")] = "atom",
    limit: Annotated[int | None, typer.Option(min=1, help="Items (default FEEDWASH_FEED_LIMIT).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include folded duplicates.")] = False,
) -> None:
    """Write the feed the web app serves at /feeds/all.<format> to stdout."""
    from worker.publish import build_feed

    if format not in ("atom", "rss", "json"):
        err.print("error: --format must be atom, rss or json")
        raise typer.Exit(2)
    with transaction() as session:
        body = build_feed(session, get_settings(), format, limit, include_duplicates=all_)
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Serve the feeds and pages over HTTP."""
    import uvicorn

    if "FEEDWASH_BASE_URL" not in os.environ:  # self links must name where we really listen
        os.environ["FEEDWASH_BASE_URL"] = f"http://{host}:{port}"
        get_settings.cache_clear()
    uvicorn.run("worker.web.app:app", host=host, port=port, proxy_headers=True)


@app.command()
def worker(concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 2) -> None:
    """Run a Celery worker."""
    os.execvp(sys.executable, [sys.executable, *_celery("worker", f"--concurrency={concurrency}")])


@app.command()
def beat() -> None:
    """Run Celery beat (exactly one per deployment)."""
    os.execvp(sys.executable, [sys.executable, *_celery("beat")])


def _celery(*args: str) -> list[str]:
    return ["-m", "celery", "-A", "worker.celery_app:app", *args, "--loglevel=INFO"]


@app.command()
def run(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
) -> None:
    """Migrate, import seeds, then run web + worker + beat together until interrupted."""
    if "FEEDWASH_BASE_URL" not in os.environ:
        os.environ["FEEDWASH_BASE_URL"] = f"http://{host}:{port}"
        get_settings.cache_clear()
    settings = get_settings()
    db_upgrade()
    feeds_sync()
    if settings.seeds_dir.is_dir():
        seeds_import(settings.seeds_dir)
    commands = [
        [sys.executable, "-m", "worker.cli", "serve", "--host", host, "--port", str(port)],
        [sys.executable, *_celery("worker", "--concurrency=2")],
        [sys.executable, *_celery("beat")],
    ]
    children = [subprocess.Popen(c) for c in commands]
    out.print(f"feedwash running: {settings.base_url}/feeds/all.atom (Ctrl-C stops)")
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stop and all(c.poll() is None for c in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()  # a worker stuck in warm shutdown must not outlive `run`
            child.wait()
    raise typer.Exit(0 if stop else 1)


@rules_app.command("test")
def rules_test(
    rules_file: Annotated[Path, typer.Argument(help="A rules YAML file.")],
    sample: Annotated[Path, typer.Argument(help="A seed post or an HTML file.")],
) -> None:
    """Show what RULES_FILE changes in SAMPLE: removal counts with samples, then a text diff."""
    from worker.core.types import InputError
    from worker.rules_preview import preview

    try:
        result = preview(rules_file.read_text(encoding="utf-8"), str(rules_file),
                         sample.read_bytes(), sample.name)
    except (OSError, InputError) as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(2) from None
    names = ", ".join(r.name for r in result.rules)
    typer.echo(f"rules in file: {names}; matching {sample.name}: {', '.join(result.matched) or 'none'}")
    for key, count, text in result.removals():
        typer.echo(f"  {count:>3}  {key}  | {text}")
    diff = result.diff()
    typer.echo("\n".join(diff) if diff else "(no change to the text)")


@app.command()
def explain(article_id: int) -> None:
    """Print an article's provenance: where its content came from (feed, page, seed), cleaner
    version, matched rules, what each rule removed."""
    from worker.storage.models import Article

    with transaction() as session:
        article = session.get(Article, article_id)
        if article is None:
            err.print(f"error: no article {article_id}")
            raise typer.Exit(1)
        prov = article.provenance or {}
        lines = [
            f"article {article.id}: {article.title}",
            f"cleaner version {article.cleaner_version}; site rules: "
            f"{', '.join(prov.get('site_rules') or []) or 'none'}",
            f"language {article.language}; reading length {article.reading_length}; "
            f"lead image {article.lead_image or '-'}",
            "removed:" if prov.get("removed") or article.removed else "removed: nothing",
        ]
        details = prov.get("removed") or {k: {"count": v, "sample": ""} for k, v in article.removed.items()}
        lines += [f"  {d['count']:>3}  {key}  | {d['sample']}" for key, d in details.items()]
        origin = cli_fulltext.content_provenance(session, article_id) or []
        lines += [f"{label}: {value}" for label, value in origin]
    typer.echo("\n".join(lines))


@app.command()
def reclean(
    source: Annotated[int | None, typer.Option("--source", help="Only this source's articles.")] = None,
) -> None:
    """Re-run cleaning over the stored raw bodies (after rules changed); in-process, idempotent."""
    from worker.reclean import reclean_all

    report = reclean_all(source)
    for message in report.skipped:
        err.print(f"skipped: {message}", markup=False)
    out.print(f"{report.updated} updated, {report.unchanged} unchanged, {len(report.skipped)} skipped")


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else ""


if __name__ == "__main__":
    app()
