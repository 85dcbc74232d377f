"""Orchestration: fetch or read -> pure core -> storage. Shared by Celery tasks and the CLI.

Each function takes ids or paths, opens its own transactions, and records (never raises) the
errors of bad input, so one broken feed or seed file cannot stop the others.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from worker import config, websub
from worker.config import SourceConfig
from worker.core.pipeline import clean_entry
from worker.core.schedule import Random
from worker.core.seed import parse_seed
from worker.core.types import InputError, ParsedEntry
from worker.seeds import SeedFileStat, walk_seeds
from worker.settings import Settings, get_settings
from worker.storage import repo
from worker.storage.db import transaction

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def raw_entry_hash(entry: ParsedEntry) -> str:
    """Of what the source sent: unchanged entries are skipped before the (costly) cleaning."""
    raw = "\x00".join((entry.title, entry.link or "", entry.html, *entry.categories))
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


# ---- seeds -----------------------------------------------------------------------------------

@dataclass
class SeedReport:
    imported: int = 0  # files that produced a new article
    updated: int = 0  # edited files: a new version of the article they gave before
    duplicates: int = 0  # files whose article was already stored
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def seed_source_id(folder: Path) -> int:
    with transaction() as session:
        return repo.ensure_source(session, "seed", str(folder.resolve()), utcnow(), title=folder.name)


def changed_seed_files(folder: Path) -> tuple[int, list[SeedFileStat], int]:
    """(source id, files changed since the last import, count unchanged), from stat() alone."""
    source_id = seed_source_id(folder)
    with transaction() as session:
        known = repo.seed_file_states(session, source_id)
    changed, unchanged = [], 0
    for stat in walk_seeds(folder):
        previous = known.get(stat.path)
        if previous and previous[:2] == (stat.size, stat.mtime_ns):
            unchanged += 1
        else:
            changed.append(stat)
    return source_id, changed, unchanged


def import_seed_file(source_id: int, folder: Path, relpath: str, settings: Settings | None = None) -> str:
    """Import one seed file in one transaction. Returns "imported", "updated", "duplicate",
    "unchanged" or the recorded error message."""
    settings = settings or get_settings()
    path = folder / relpath
    now = utcnow()
    try:
        stat = path.stat()
        if stat.st_size > settings.seed_max_bytes:  # parsing and cleaning cost ~20x the file in RAM
            message = f"{relpath}: too large ({stat.st_size} bytes, limit {settings.seed_max_bytes})"
            sha = f"size:{stat.st_size}"  # never read; the size and mtime are what is remembered
            return _record_seed_error(source_id, relpath, message, now, (stat.st_size, stat.st_mtime_ns, sha))
        data = path.read_bytes()
    except OSError as exc:
        return _record_seed_error(source_id, relpath, f"{relpath}: unreadable: {exc.strerror}", now)
    sha = hashlib.sha256(data).hexdigest()
    with transaction() as session:
        known = repo.seed_file_states(session, source_id).get(relpath)
        if known and known[2] == sha:  # touched, not changed
            repo.save_seed_file(session, source_id, relpath, stat.st_size, stat.st_mtime_ns, sha, now)
            return "unchanged"
    try:
        entry = parse_seed(data, relpath, settings.timezone)
        article = clean_entry(entry, config.load_rules(settings.rules_dir), None, settings.short_text_chars)
    except InputError as exc:
        return _record_seed_error(source_id, relpath, str(exc), now, (stat.st_size, stat.st_mtime_ns, sha))
    with transaction() as session:
        source_url = str(folder.resolve())
        stored = repo.store_article(session, source_id, source_url, article, sha, now)
        repo.save_seed_file(session, source_id, relpath, stat.st_size, stat.st_mtime_ns, sha, now,
                            article_id=stored.article_id)
    if stored.created:
        return "imported"
    return "updated" if stored.outcome == "updated" else "duplicate"


def _record_seed_error(
    source_id: int, relpath: str, message: str, now: datetime,
    stat: tuple[int, int, str] | None = None,
) -> str:
    log.warning("seed import failed: %s", message)
    with transaction() as session:
        repo.record_error(session, source_id, relpath, message, now)
        if stat is not None:
            repo.save_seed_file(session, source_id, relpath, *stat, now, error=message)
    return message


def import_seeds(
    folder: Path, settings: Settings | None = None,
    progress: Callable[[list[SeedFileStat]], Iterable[SeedFileStat]] | None = None,
) -> SeedReport:
    """Import every changed file under `folder`, in-process. `progress` wraps the file list
    (the CLI's progress bar)."""
    started = utcnow()
    source_id, changed, unchanged = changed_seed_files(folder)
    report = SeedReport(unchanged=unchanged)
    for stat in progress(changed) if progress else changed:
        outcome = import_seed_file(source_id, folder, stat.path, settings)
        if outcome == "imported":
            report.imported += 1
        elif outcome == "updated":
            report.updated += 1
        elif outcome == "duplicate":
            report.duplicates += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.errors.append(outcome)
    websub.announce_changes(started)
    return report


# ---- feeds -----------------------------------------------------------------------------------

@dataclass
class PollReport:
    source_id: int
    url: str
    status: str = "ok"  # ok | not-modified | error | busy (host limit, retried soon) | skipped (paused)
    new: int = 0
    duplicates: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    page_fetches: list[int] = field(default_factory=list)  # article ids whose page to fetch (issue 8)


def poll_source(
    source_id: int, settings: Settings | None = None, *, now: datetime | None = None,
    rng: Random | None = None,
) -> PollReport:
    """Fetch, parse, clean and store one feed, then schedule its next poll (worker.poll)."""
    from worker import poll  # builds on this module's helpers; imported late to avoid a cycle

    return poll.poll_source(source_id, settings, now=now, rng=rng)


def unique_entries(entries: tuple[ParsedEntry, ...]) -> list[ParsedEntry]:
    """A feed that repeats a guid keeps its first occurrence (feeds list newest first)."""
    seen: dict[str, ParsedEntry] = {}
    for entry in entries:
        seen.setdefault(entry.entry_key, entry)
    return list(seen.values())


def sync_sources(sources: list[SourceConfig]) -> int:
    """Add the feeds of the sources file; existing ones keep their settings, except a `full_text`
    the file sets."""
    from worker.storage import pages

    settings = get_settings()
    with transaction() as session:
        for source in sources:
            source_id = repo.ensure_source(session, "feed", source.url, utcnow(),
                                           source.interval_minutes or settings.default_interval_minutes,
                                           source.title)
            if source.full_text is not None:
                pages.set_full_text_mode(session, source_id, source.full_text)
    return len(sources)


def due_source_ids(force: bool = False, limit: int | None = None) -> list[int]:
    """Feeds due now (every feed with `force`); `limit=None` means all of them."""
    with transaction() as session:
        return repo.due_feed_ids(session, utcnow(), limit, force)
