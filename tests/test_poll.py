"""Feed polling against a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from typer.testing import CliRunner
from werkzeug import Request, Response

from tests.conftest import FIXTURES, SEED_FILE
from worker import ingest
from worker.cli import app
from worker.core.seed import parse_seed
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import Article, IngestError, Sighting, Source

runner = CliRunner()


def sina_feed() -> bytes:
    body = parse_seed(SEED_FILE.read_bytes(), "seed").html
    return (FIXTURES / "feeds" / "sina.rss").read_text().replace("SEED_BODY", body).encode()


def _add(url: str) -> int:
    with transaction() as session:
        return repo.ensure_source(session, "feed", url, ingest.utcnow())


def _articles() -> list[Article]:
    with transaction() as session:
        return list(session.execute(select(Article).order_by(Article.published_at)).scalars())


def test_poll_stores_cleaned_entries(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.rss").respond_with_data(
        sina_feed(), content_type="application/rss+xml", headers={"ETag": '"v1"'})
    source_id = _add(httpserver.url_for("/feed.rss"))
    report = ingest.poll_source(source_id)
    assert (report.status, report.new, report.duplicates) == ("ok", 2, 0)
    first, second = _articles()
    assert first.title == "北京市多措并举推动消费帮扶工作取得新成效"
    assert first.link == "https://finance.sina.com.cn/china/2022-02-22/doc-ikyakumy7164832.shtml"
    assert "责任编辑" not in first.text and "农产品展示展销" in first.text
    assert second.link == "https://finance.sina.com.cn/china/2022-02-23/doc-2.shtml"
    assert second.lead_image == "https://n.sinaimg.cn/lead.jpg"
    assert '<img src="https://finance.sina.com.cn/img/a.jpg">' in second.html
    assert 'href="https://finance.sina.com.cn/more"' in second.html
    assert "script" not in second.html and "style" not in second.html
    with transaction() as session:
        source = session.get(Source, source_id)
        assert source is not None
        assert (source.etag, source.title, source.status) == ('"v1"', "新浪财经 国内", "active")


def test_a_title_the_operator_gave_survives_polls(database_url: str, httpserver: HTTPServer) -> None:
    """Untitled sources take the feed's title; a title from OPML or sources.yaml is the
    operator's and stays (every successful poll used to overwrite it)."""
    httpserver.expect_request("/feed.rss").respond_with_data(sina_feed(), content_type="application/rss+xml")
    with transaction() as session:
        named = repo.ensure_source(session, "feed", httpserver.url_for("/feed.rss"), ingest.utcnow(),
                                   title="Sina, my name for it")
    assert ingest.poll_source(named).status == "ok"
    with transaction() as session:
        source = session.get(Source, named)
        assert source is not None and source.title == "Sina, my name for it"


def test_seed_and_feed_copy_are_one_article(database_url: str, httpserver: HTTPServer,
                                            tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "a.txt").write_bytes(SEED_FILE.read_bytes())
    ingest.import_seeds(folder)
    httpserver.expect_request("/feed.rss").respond_with_data(sina_feed())
    report = ingest.poll_source(_add(httpserver.url_for("/feed.rss")))
    assert (report.new, report.duplicates) == (1, 1)
    with transaction() as session:
        assert session.execute(select(func.count(Article.id))).scalar_one() == 2
        assert session.execute(select(func.count(Sighting.id))).scalar_one() == 3


def test_repoll_skips_unchanged_entries(sqlite_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.rss").respond_with_data(sina_feed())
    source_id = _add(httpserver.url_for("/feed.rss"))
    ingest.poll_source(source_id)
    report = ingest.poll_source(source_id)
    assert (report.new, report.duplicates, report.unchanged) == (0, 0, 2)


def test_force_poll_sends_stored_validators(sqlite_url: str, httpserver: HTTPServer) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append((request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(sina_feed(), headers={"ETag": '"v1"',
                                              "Last-Modified": "Tue, 22 Feb 2022 03:01:31 GMT"})

    httpserver.expect_request("/feed.rss").respond_with_handler(handler)
    _add(httpserver.url_for("/feed.rss"))
    assert runner.invoke(app, ["poll", "--once", "--force"]).exit_code == 0
    result = runner.invoke(app, ["poll", "--once", "--force"])
    assert result.exit_code == 0
    assert "not-modified" in result.output
    assert seen == [(None, None), ('"v1"', "Tue, 22 Feb 2022 03:01:31 GMT")]
    # Not due and not forced: no request at all.
    assert runner.invoke(app, ["poll", "--once"]).exit_code == 0
    assert len(seen) == 2


def test_malformed_but_readable_feed_keeps_entries(sqlite_url: str, httpserver: HTTPServer) -> None:
    broken = sina_feed().replace(b"</channel>", b"<unclosed></channel>")
    httpserver.expect_request("/feed.rss").respond_with_data(broken)
    report = ingest.poll_source(_add(httpserver.url_for("/feed.rss")))
    assert (report.status, report.new) == ("ok", 2)
    with transaction() as session:
        messages = list(session.execute(select(IngestError.message)).scalars())
    assert len(messages) == 1 and "feed parsed with warnings" in messages[0]


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (b"<html><body><p>Not a feed</p></body></html>", 200, "not a feed"),
        (b"\x89PNG\r\n\x1a\n\x00garbage", 200, "not a feed"),
        (b"gone", 404, "HTTP 404"),
        (b"x" * 2048, 200, "larger than 1024 bytes"),
    ],
)
def test_bad_feeds_are_recorded_and_others_carry_on(
    sqlite_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch,
    body: bytes, status: int, expected: str,
) -> None:
    from worker.settings import get_settings

    monkeypatch.setenv("FEEDWASH_FETCH_MAX_BYTES", "1024" if body == b"x" * 2048 else "10000000")
    get_settings.cache_clear()
    httpserver.expect_request("/bad").respond_with_data(body, status=status)
    httpserver.expect_request("/good").respond_with_data(sina_feed()[:1000] + b"</channel></rss>"
                                                         if body == b"x" * 2048 else sina_feed())
    bad, good = _add(httpserver.url_for("/bad")), _add(httpserver.url_for("/good"))
    result = runner.invoke(app, ["poll", "--once"])
    assert result.exit_code == 1
    with transaction() as session:
        bad_source, good_source = session.get(Source, bad), session.get(Source, good)
        assert bad_source is not None and good_source is not None
        assert bad_source.status == "error" and expected in (bad_source.last_error or "")
        assert bad_source.last_error and httpserver.url_for("/bad") in bad_source.last_error
        assert good_source.status == "active"


def test_an_entry_the_cleaner_fails_on_is_recorded_and_the_others_are_stored(
        sqlite_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cleaner bug on one entry (here injected: the real one, a control-character reference,
    is fixed) costs that entry only; the error names it and the next poll tries it again."""
    from worker import poll
    real_clean_body = poll.clean_body

    def failing_on_the_second(entry, *args, **kwargs):  # type: ignore[no-untyped-def]
        if entry.link and entry.link.endswith("doc-2.shtml"):
            raise ValueError("All strings must be XML compatible")
        return real_clean_body(entry, *args, **kwargs)

    monkeypatch.setattr(poll, "clean_body", failing_on_the_second)
    httpserver.expect_request("/feed.rss").respond_with_data(sina_feed(), content_type="application/rss+xml")
    source_id = _add(httpserver.url_for("/feed.rss"))
    report = ingest.poll_source(source_id)
    assert (report.status, report.new) == ("ok", 1)
    assert len(report.errors) == 1 and "doc-2.shtml" in report.errors[0] and "ValueError" in report.errors[0]
    with transaction() as session:
        recorded = session.execute(select(IngestError.message)).scalars().all()
    assert [m for m in recorded if "not cleaned" in m] == report.errors
    monkeypatch.setattr(poll, "clean_body", real_clean_body)
    again = ingest.poll_source(source_id)
    assert (again.new, again.unchanged) == (1, 1)


def test_cli_lines_are_one_line_each_and_never_markup(sqlite_url: str, httpserver: HTTPServer) -> None:
    """Scripts read these lines: a pipe is 80 columns to rich, which wrapped a long URL onto a
    second line, and read `[...]` in a URL as markup and dropped it."""
    httpserver.expect_request("/" + "long" * 20 + ".rss").respond_with_data(sina_feed())
    url = httpserver.url_for("/" + "long" * 20 + ".rss") + "?tags[]=a&x=[bold]y[/bold]"
    added = runner.invoke(app, ["feeds", "add", url])
    assert added.exit_code == 0 and added.output == f"1\t{url}\n"
    polled = runner.invoke(app, ["poll", "--once"])
    assert polled.exit_code == 0
    assert polled.stdout.splitlines() == [f"1\tok\t2 new\t0 duplicates\t0 unchanged\t{url}"]
    assert url in runner.invoke(app, ["feeds", "list"]).stdout  # the table was cut to `http:/…`
