"""Polling like a good citizen (issue 3), against a real HTTP server on 127.0.0.1 and both
databases: conditional GET, moves, 410, Retry-After, backoff, dead sources, adaptive intervals,
leases, the raw archive, and the operator's view."""

from __future__ import annotations

import json
import threading
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import brotli
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update
from typer.testing import CliRunner
from werkzeug import Request, Response

from tests.test_poll import sina_feed
from worker import ingest, poll
from worker.cli import app
from worker.core.schedule import dispatch_room
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import (
    Article,
    Base,
    FetchLog,
    IngestError,
    RawPayload,
    SeedFile,
    Sighting,
    Source,
)

runner = CliRunner()
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)
RSS = "application/rss+xml"


class FixedRandom:
    def random(self) -> float:
        return 0.5  # jitter factor exactly 1


MID = FixedRandom()


def rss(items: int, every: timedelta, now: datetime = NOW, channel_extra: str = "") -> bytes:
    entries = "".join(
        f"<item><title>Story {i}</title><guid>story-{i}</guid><link>https://news.example/{i}</link>"
        f"<pubDate>{format_datetime(now - every * (i + 1))}</pubDate>"
        f"<description>&lt;p&gt;Body of story number {i}, long enough to be an article.&lt;/p&gt;"
        f"</description></item>" for i in range(items))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>News</title>'
            f"<link>https://news.example/</link>{channel_extra}{entries}</channel></rss>").encode()


def add(url: str) -> int:
    with transaction() as session:
        return repo.ensure_source(session, "feed", url, NOW)


def source(source_id: int) -> Source:
    with transaction() as session:
        found = session.get(Source, source_id)
        assert found is not None
        return found


def counts() -> dict[str, int]:
    with transaction() as session:
        return {t.__tablename__: session.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (Article, Sighting, IngestError, RawPayload, FetchLog, SeedFile)}


def log_rows(source_id: int) -> list[FetchLog]:
    with transaction() as session:
        return list(session.execute(select(FetchLog).where(FetchLog.source_id == source_id)
                                    .order_by(FetchLog.id)).scalars())


# ---- conditional GET -------------------------------------------------------------------------

def test_not_modified_writes_only_bookkeeping(database_url: str, httpserver: HTTPServer) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(rss(4, timedelta(hours=6)), headers={"ETag": '"v1"'}, content_type=RSS)

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    source_id = add(httpserver.url_for("/feed.xml"))
    first = ingest.poll_source(source_id, now=NOW, rng=MID)
    assert (first.status, first.new) == ("ok", 4)
    before = counts()
    assert before == {"articles": 4, "sightings": 4, "ingest_errors": 0, "raw_payloads": 1,
                      "fetch_log": 1, "seed_files": 0}
    later = NOW + timedelta(hours=7)
    second = ingest.poll_source(source_id, now=later, rng=MID)
    assert second.status == "not-modified"
    assert counts() == {**before, "fetch_log": 2}
    with transaction() as session:  # sightings were not even touched
        assert set(session.execute(select(Sighting.last_seen_at)).scalars()) == {NOW}
    polled = source(source_id)
    assert (polled.last_polled_at, polled.last_success_at, polled.etag) == (later, later, '"v1"')
    assert polled.next_poll_at == later + timedelta(hours=6)  # the rate stored by the 200 poll
    assert polled.next_poll_reason == "entry rate 4/day (±10% jitter)"
    assert [(r.outcome, r.status_code, r.new_entries) for r in log_rows(source_id)] == [
        ("ok", 200, 4), ("not-modified", 304, 0)]


# ---- redirects and moves ---------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 308])
def test_three_permanent_redirects_in_a_row_move_the_source(
    database_url: str, httpserver: HTTPServer, status: int,
) -> None:
    new_url = httpserver.url_for("/new.xml")
    httpserver.expect_request("/old.xml").respond_with_response(
        Response(status=status, headers={"Location": "/new.xml"}))
    httpserver.expect_request("/new.xml").respond_with_data(rss(2, timedelta(days=1)), content_type=RSS)
    source_id = add(httpserver.url_for("/old.xml"))
    for streak in (1, 2):
        assert ingest.poll_source(source_id, now=NOW, rng=MID).status == "ok"
        moved = source(source_id)
        assert (moved.url, moved.redirect_url, moved.redirect_streak) == (
            httpserver.url_for("/old.xml"), new_url, streak)
    ingest.poll_source(source_id, now=NOW, rng=MID)
    moved = source(source_id)
    assert (moved.url, moved.redirect_url, moved.redirect_streak) == (new_url, None, 0)
    last = log_rows(source_id)[-1]
    assert last.message == (f"moved permanently: {httpserver.url_for('/old.xml')} -> {new_url} "
                            "(301/308 on 3 polls in a row)")


@pytest.mark.parametrize("status", [302, 307])
def test_temporary_redirects_never_move_the_source(sqlite_url: str, httpserver: HTTPServer,
                                                   status: int) -> None:
    httpserver.expect_request("/old.xml").respond_with_response(
        Response(status=status, headers={"Location": "/new.xml"}))
    httpserver.expect_request("/new.xml").respond_with_data(rss(2, timedelta(days=1)), content_type=RSS)
    source_id = add(httpserver.url_for("/old.xml"))
    for _ in range(4):
        assert ingest.poll_source(source_id, now=NOW, rng=MID).status == "ok"
    kept = source(source_id)
    assert (kept.url, kept.redirect_url, kept.redirect_streak) == (httpserver.url_for("/old.xml"), None, 0)


# ---- errors ----------------------------------------------------------------------------------

def test_gone_pauses_until_resumed(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone.xml").respond_with_data("gone", status=410)
    source_id = add(httpserver.url_for("/gone.xml"))
    assert ingest.poll_source(source_id, now=NOW, rng=MID).status == "error"
    paused = source(source_id)
    assert (paused.status, paused.paused_reason, paused.next_poll_at) == ("paused", "gone (HTTP 410)", None)
    assert ingest.due_source_ids(force=True) == []
    listing = runner.invoke(app, ["feeds", "list"], env={"COLUMNS": "300"})
    assert "paused" in listing.output and "gone (HTTP 410)" in listing.output
    assert runner.invoke(app, ["feeds", "resume", str(source_id)]).exit_code == 0
    resumed = source(source_id)
    assert (resumed.status, resumed.error_count, resumed.paused_reason) == ("active", 0, None)
    assert ingest.due_source_ids() == [source_id]


def test_too_many_requests_honours_retry_after(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/busy.xml").respond_with_data("slow down", status=429,
                                                             headers={"Retry-After": "120"})
    source_id = add(httpserver.url_for("/busy.xml"))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    busy = source(source_id)
    assert (busy.next_poll_at, busy.next_poll_reason) == (NOW + timedelta(seconds=120),
                                                          "retry-after 120 s (HTTP 429)")
    assert (busy.status, busy.error_count) == ("error", 1)


def test_server_errors_back_off_exponentially(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/broken.xml").respond_with_data("oops", status=500)
    source_id = add(httpserver.url_for("/broken.xml"))
    when = NOW
    for errors, minutes in ((1, 5), (2, 10), (3, 20)):
        ingest.poll_source(source_id, now=when, rng=MID)
        broken = source(source_id)
        noun = "error" if errors == 1 else "errors"
        assert broken.next_poll_reason == f"backoff after {errors} {noun} (±10% jitter)"
        assert broken.next_poll_at == when + timedelta(minutes=minutes)
        assert (broken.error_count, broken.failing_since) == (errors, NOW)
        assert broken.last_error is not None and "HTTP 500" in broken.last_error
        when = broken.next_poll_at
    # Real jitter stays within ±10 % of the 40 minutes the fourth error earns.
    ingest.poll_source(source_id, now=when)
    jittered = source(source_id).next_poll_at
    assert jittered is not None and timedelta(minutes=36) <= jittered - when <= timedelta(minutes=44)


def test_failing_for_a_week_marks_the_source_dead(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down.xml").respond_with_data("down", status=502)
    source_id = add(httpserver.url_for("/down.xml"))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    with transaction() as session:  # as if it had been failing since a week ago
        session.execute(update(Source).where(Source.id == source_id)
                        .values(failing_since=NOW - timedelta(days=7, hours=1)))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    dead = source(source_id)
    assert (dead.status, dead.next_poll_at) == ("dead", None)
    assert dead.paused_reason == "dead: failing for 7 days (2 errors); resume to poll again"
    assert ingest.due_source_ids(force=True) == []
    shown = runner.invoke(app, ["feeds", "show", str(source_id)], env={"COLUMNS": "300"})
    assert shown.exit_code == 0 and "dead: failing for 7 days" in shown.output and "502" in shown.output


# ---- adaptive interval -----------------------------------------------------------------------

@pytest.mark.parametrize(("extra", "headers", "reason", "minutes"), [
    ("", {}, "entry rate 4/day", 360),
    ("<ttl>720</ttl>", {}, "entry rate 4/day, raised to ttl 720 min", 720),
    ("<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>", {},
     "entry rate 4/day, raised to sy:updatePeriod 12 h", 720),
    ("", {"Cache-Control": "public, max-age=28800"}, "entry rate 4/day, raised to max-age 28800 s", 480),
])
def test_adaptive_interval_honours_publisher_hints(
    sqlite_url: str, httpserver: HTTPServer, extra: str, headers: dict[str, str], reason: str,
    minutes: int,
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(8, timedelta(hours=6), channel_extra=extra), headers=headers, content_type=RSS)
    source_id = add(httpserver.url_for("/feed.xml"))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    polled = source(source_id)
    assert polled.next_poll_reason == f"{reason} (±10% jitter)"
    assert polled.next_poll_at == NOW + timedelta(minutes=minutes)
    assert polled.entry_rate_per_day == 4.0


def test_per_source_bounds_and_extra_headers_from_the_cli(sqlite_url: str, httpserver: HTTPServer) -> None:
    seen: list[str | None] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("X-Api-Key"))
        return Response(rss(8, timedelta(hours=6)), content_type=RSS)

    httpserver.expect_request("/keyed.xml").respond_with_handler(handler)
    added = runner.invoke(app, ["feeds", "add", httpserver.url_for("/keyed.xml"), "--min-interval", "600",
                                "--max-interval", "900", "--header", "X-Api-Key: s3cret"])
    assert added.exit_code == 0, added.output
    source_id = int(added.output.split()[0])
    ingest.poll_source(source_id, now=NOW, rng=MID)
    assert seen == ["s3cret"]
    polled = source(source_id)
    assert polled.next_poll_at == NOW + timedelta(minutes=600)
    assert polled.next_poll_reason == "entry rate 4/day, raised to min 10 h (±10% jitter)"
    bad = runner.invoke(app, ["feeds", "add", "http://x.example/", "--header", "no colon"])
    assert bad.exit_code == 2


def test_fetch_log_keeps_the_newest_rows(database_url: str, httpserver: HTTPServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.settings import get_settings

    monkeypatch.setenv("FEEDWASH_FETCH_LOG_KEEP", "3")
    get_settings.cache_clear()
    httpserver.expect_request("/e.xml").respond_with_data("no", status=500)
    source_id = add(httpserver.url_for("/e.xml"))
    for _ in range(5):
        ingest.poll_source(source_id, now=NOW, rng=MID)
    assert [r.reason for r in log_rows(source_id)] == [
        f"backoff after {n} errors (±10% jitter)" for n in (3, 4, 5)]


# ---- leases ----------------------------------------------------------------------------------

def _claim_concurrently(count: int) -> list[list[int]]:
    """Two dispatchers claim batches of the same due sources at the same moment until none is left."""
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]
    failures: list[BaseException] = []

    def dispatcher(index: int) -> None:
        try:
            barrier.wait()
            while True:
                with transaction() as session:
                    ids = repo.claim_due_feeds(session, NOW, 3, LEASE)
                if not ids:
                    return
                claimed[index].extend(ids)
        except BaseException as exc:  # surfaced below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=dispatcher, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return claimed


def test_two_dispatchers_never_claim_a_source_twice(database_url: str) -> None:
    with transaction() as session:
        ids = [repo.ensure_source(session, "feed", f"https://f{i}.example/", NOW - timedelta(minutes=1))
               for i in range(40)]
    first, second = _claim_concurrently(40)
    assert sorted(first + second) == sorted(ids)  # every source once, none twice
    assert set(first).isdisjoint(second)
    with transaction() as session:
        leases = set(session.execute(select(Source.lease_until)).scalars())
    assert leases == {NOW + LEASE}


def test_dispatch_backpressure_counts_the_polls_in_flight(database_url: str) -> None:
    with transaction() as session:
        for i in range(10):
            repo.ensure_source(session, "feed", f"https://f{i}.example/", NOW - timedelta(minutes=1))
        assert repo.polls_in_flight(session, NOW) == 0
        room = dispatch_room(batch_size=100, max_in_flight=4, in_flight=0)
        claimed = repo.claim_due_feeds(session, NOW, room, LEASE)
    assert len(claimed) == 4
    with transaction() as session:
        in_flight = repo.polls_in_flight(session, NOW)
    assert in_flight == 4 and dispatch_room(100, 4, in_flight) == 0
    with transaction() as session:  # leases that ran out are no longer in flight (lost polls)
        assert repo.polls_in_flight(session, NOW + LEASE + timedelta(seconds=1)) == 0


def test_dispatch_room() -> None:
    assert dispatch_room(100, 0, 5_000) == 100  # no limit
    assert dispatch_room(100, 2_000, 1_950) == 50
    assert dispatch_room(100, 2_000, 2_500) == 0


def test_a_crashed_polls_lease_expires(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(2, timedelta(hours=6)), content_type=RSS)
    source_id = add(httpserver.url_for("/feed.xml"))
    with transaction() as session:
        assert repo.claim_due_feeds(session, NOW, 10, LEASE) == [source_id]
    # The worker died before polling: nobody claims it again while the lease holds...
    with transaction() as session:
        assert repo.claim_due_feeds(session, NOW + LEASE - timedelta(seconds=1), 10, LEASE) == []
    # ... and once it expires, the next dispatcher does.
    retry_at = NOW + LEASE + timedelta(seconds=1)
    with transaction() as session:
        assert repo.claim_due_feeds(session, retry_at, 10, LEASE) == [source_id]
    assert source(source_id).lease_until == retry_at + LEASE
    ingest.poll_source(source_id, now=retry_at, rng=MID)
    polled = source(source_id)
    assert polled.lease_until is None and polled.next_poll_at is not None and polled.next_poll_at > retry_at


# ---- raw archive -----------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["br", "zlib"])
def test_reprocess_from_the_archive_without_fetching(
    database_url: str, httpserver: HTTPServer, codec: str,
) -> None:
    """New payloads are stored brotli-compressed; a zlib one (written before) is read too."""
    httpserver.expect_request("/feed.rss").respond_with_data(sina_feed())
    source_id = add(httpserver.url_for("/feed.rss"))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    ingest.poll_source(source_id, now=NOW + timedelta(hours=1), rng=MID)  # same bytes: one payload
    with transaction() as session:
        payload = session.execute(select(RawPayload)).scalar_one()
        assert payload.compression == "br" and brotli.decompress(payload.content) == sina_feed()
        assert payload.size > len(payload.content)  # stored compressed
        assert payload.fetched_at == NOW + timedelta(hours=1)
        if codec == "zlib":
            session.execute(update(RawPayload).values(compression="zlib", content=zlib.compress(sina_feed())))
        session.execute(update(Article).values(text="stale", html="stale", cleaner_version="0"))
    requests = len(httpserver.log)
    result = runner.invoke(app, ["reprocess", str(source_id)])
    assert result.exit_code == 0, result.output
    assert len(httpserver.log) == requests  # nothing fetched
    with transaction() as session:
        rows = session.execute(select(Article.text, Article.html, Article.cleaner_version)).all()
    assert len(rows) == 2 and all("stale" not in (text, html) and version != "0"
                                  for text, html, version in rows)
    assert any("农产品展示展销" in text for text, _, _ in rows)
    assert result.output.split()[1:5] == ["0", "new", "2", "re-stored"]


def test_reprocess_of_an_unknown_source_is_one_error_line(sqlite_url: str) -> None:
    result = runner.invoke(app, ["reprocess", "999"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error: source 999 not found" in result.stderr


def test_archive_is_pruned_after_archive_days(sqlite_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(2, timedelta(hours=6)), content_type=RSS)
    source_id = add(httpserver.url_for("/feed.xml"))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    assert poll.prune_archive(now=NOW + timedelta(days=13)) == 0
    assert poll.prune_archive(now=NOW + timedelta(days=15)) == 1
    assert counts()["raw_payloads"] == 0


def test_ingest_errors_are_pruned_with_the_archive(database_url: str, httpserver: HTTPServer) -> None:
    """A flaky source never turns `dead` (each success clears `failing_since`) but adds an
    ingest_errors row per failed poll: the table grew for as long as feedwash ran (found by the
    an audit in session 5). The daily prune drops rows older than FEEDWASH_ARCHIVE_DAYS."""
    httpserver.expect_request("/flaky.xml").respond_with_data("down", status=502)
    source_id = add(httpserver.url_for("/flaky.xml"))
    ingest.poll_source(source_id, now=NOW, rng=MID)
    ingest.poll_source(source_id, now=NOW + timedelta(days=10), rng=MID)
    assert counts()["ingest_errors"] == 2
    poll.prune_archive(now=NOW + timedelta(days=13))
    assert counts()["ingest_errors"] == 2
    poll.prune_archive(now=NOW + timedelta(days=15))
    assert counts()["ingest_errors"] == 1  # the newer one stays


def test_every_table_is_known_to_the_truncating_fixture() -> None:
    assert {"fetch_log", "raw_payloads"} <= set(Base.metadata.tables)


def test_busy_host_is_retried_soon_and_not_held_against_the_source(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from worker.fetch import FetchError

    def busy(url: str, **_: object) -> None:
        raise FetchError(f"{url}: 2 requests to this host already in flight", kind="busy")

    monkeypatch.setattr(poll, "fetch", busy)
    source_id = add("http://busy.example/feed.xml")
    assert ingest.poll_source(source_id, now=NOW, rng=MID).status == "busy"
    waiting = source(source_id)
    assert (waiting.status, waiting.error_count, waiting.last_error) == ("active", 0, None)
    assert waiting.next_poll_at == NOW + timedelta(seconds=60)
    assert [r.outcome for r in log_rows(source_id)] == ["busy"]


def test_a_paused_source_is_not_polled_by_a_stale_task(sqlite_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(2, timedelta(hours=6)), content_type=RSS)
    source_id = add(httpserver.url_for("/feed.xml"))
    assert runner.invoke(app, ["feeds", "pause", str(source_id)]).exit_code == 0
    assert ingest.poll_source(source_id, now=NOW, rng=MID).status == "skipped"
    assert len(httpserver.log) == 0 and source(source_id).status == "paused"


def test_feeds_add_of_a_known_url_takes_the_interval_given(sqlite_url: str) -> None:
    """`feeds add` of an existing URL keeps its settings "except the options given" (its help)."""
    url = "http://127.0.0.1:9/feed.rss"
    assert runner.invoke(app, ["feeds", "add", url, "--interval", "15"]).exit_code == 0
    assert runner.invoke(app, ["feeds", "add", url, "--interval", "45"]).exit_code == 0
    assert runner.invoke(app, ["feeds", "add", url]).exit_code == 0  # no option: nothing changes
    with transaction() as session:
        assert list(session.execute(select(Source.interval_minutes)).scalars()) == [45]


@pytest.mark.parametrize("content", ["sources: [oops\n", "sources:\n  - title: no url\n",
                                     "sources:\n  - url: https://example.com/f\n    full_text: maybe\n",
                                     "sources:\n  - url: \xff\n"])
def test_feeds_sync_names_a_broken_sources_file(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str,
) -> None:
    """`run` syncs the sources file first: a broken one is a clear error naming the file, not a
    traceback (invalid YAML raised PyYAML's error, which names no file)."""
    from worker.settings import get_settings

    path = tmp_path / "sources.yaml"
    path.write_bytes(content.encode("latin-1"))
    monkeypatch.setenv("FEEDWASH_SOURCES_FILE", str(path))
    get_settings.cache_clear()
    result = runner.invoke(app, ["feeds", "sync"])
    assert result.exit_code == 2, result.exception
    assert result.stderr.startswith(f"error: {path}")


def _poll_two_new(httpserver: HTTPServer, path: str, body: bytes, content_type: str,
                  *columns: Any) -> tuple[list[Any], str | None]:
    """Serve `body` at `path`, poll it as a new source (two new entries expected), and return
    the stored articles' `columns` and the source's title."""
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    source_id = add(httpserver.url_for(path))
    report = ingest.poll_source(source_id, now=NOW, rng=MID)
    assert (report.status, report.new) == ("ok", 2)
    with transaction() as session:
        source = session.get(Source, source_id)
        assert source is not None
        return list(session.execute(select(*columns)).all()), source.title


def test_a_json_feed_with_nul_characters(database_url: str, httpserver: HTTPServer) -> None:
    """JSON allows "\\u0000"; PostgreSQL text does not. Such a feed crashed the poll with a
    DataError: nothing recorded, `poll --once` aborted for every feed after it, the Celery task
    retried at each lease expiry (found by an audit in session 5). NULs are dropped on reading."""
    body = "text " * 80
    items = [{"id": f"n\u0000{k}", "url": f"https://n.example/{k}", "title": f"NUL\u0000 {k}",
              "content_html": f"<p>a \u0000 b {body}{k}</p>", "authors": [{"name": "a\u0000b"}],
              "tags": ["t\u0000g"], "date_published": "2026-03-01T10:00:00Z"} for k in range(2)]
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "J\u0000F", "items": items}
    rows, source_title = _poll_two_new(httpserver, "/nul.json", json.dumps(document).encode(),
                                       "application/feed+json", Article.title, Article.author, Article.text)
    assert sorted(title for title, _, _ in rows) == ["NUL 0", "NUL 1"]
    assert all(author == "ab" and "\x00" not in text for _, author, text in rows)
    assert source_title == "JF"


@pytest.mark.parametrize("nul", ["\x00", "&#0;"], ids=["raw byte", "character reference"])
def test_an_rss_feed_with_nul_characters(database_url: str, httpserver: HTTPServer, nul: str) -> None:
    """Not XML, but it gets through feedparser: on PostgreSQL the poll died with a DataError and
    recorded nothing (found by an audit in session 5). NULs are dropped on reading."""
    items = "".join(
        f"<item><title>T{nul}itle {k}</title><link>https://r.example/{k}</link><guid>g{nul}{k}</guid>"
        f"<author>x{nul}y</author><category>c{nul}d</category>"
        f"<description>&lt;p&gt;body {nul} {'text ' * 80}{k}&lt;/p&gt;</description></item>"
        for k in range(2))
    feed = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>R{nul}N</title>'
            f"<link>https://r.example/</link><description>d</description>{items}</channel></rss>")
    rows, source_title = _poll_two_new(httpserver, "/nul.xml", feed.encode(), RSS,
                                       Article.title, Article.author, Article.categories)
    assert sorted(title for title, _, _ in rows) == ["Title 0", "Title 1"]
    assert all(author == "xy" and list(categories) == ["cd"] for _, author, categories in rows)
    assert source_title == "RN"


def test_a_poll_that_cannot_store_is_recorded_not_raised(
        sqlite_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever storing a feed raises (a value the database refuses, a bug), the poll records an
    error and backs off. It raised instead: nothing recorded, `poll --once` stopped at that feed,
    and the Celery task came back at every lease expiry (found by an audit in session 5)."""
    httpserver.expect_request("/feed.xml").respond_with_data(rss(2, timedelta(hours=6)), content_type=RSS)
    source_id = add(httpserver.url_for("/feed.xml"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("refused by the database\n[SQL: INSERT ...]")

    monkeypatch.setattr(poll, "_store_chunk", refuse)
    report = ingest.poll_source(source_id, now=NOW, rng=MID)
    assert report.status == "error"
    with transaction() as session:
        source = session.get(Source, source_id)
        assert source is not None
        assert (source.status, source.error_count) == ("error", 1)
        assert source.last_error.endswith("could not store the feed (ValueError: refused by the database)")
        assert source.next_poll_reason.startswith("backoff after 1 error")
    assert counts()["raw_payloads"] == 1  # kept, to reprocess once fixed
