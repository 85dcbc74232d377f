"""Full text against real local HTTP servers (issue 8): summary-only feeds whose links point
at local article pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from typer.testing import CliRunner
from werkzeug import Request, Response

from tests.conftest import SEED_FILE
from tests.pages import CHROME_TEXTS, article_page, summary_feed
from worker import fulltext, ingest
from worker.cli import app
from worker.core.seed import parse_seed
from worker.storage import pages, repo
from worker.storage.db import transaction
from worker.storage.models import Article, IngestError, PageFetch, RawPayload, Sighting

runner = CliRunner()
PARAGRAPH = "记者从有关部门获悉，这项工作取得了新的进展，各方面反映良好，后续还将继续推进。"
BODY = "".join(f"<p>第{i}段。{PARAGRAPH * 2}</p>" for i in range(8))
SUMMARY = "记者从有关部门获悉，这项工作取得了新的进展……"


def _source(url: str, mode: str | None = "auto") -> int:
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", url, ingest.utcnow())
        if mode:
            pages.set_full_text_mode(session, source_id, mode)
        return source_id


def _article(article_id: int) -> Article:
    with transaction() as session:
        article = session.get(Article, article_id)
        assert article is not None
        return article


def _page_fetch(article_id: int) -> PageFetch:
    with transaction() as session:
        return session.execute(select(PageFetch).where(PageFetch.article_id == article_id)).scalar_one()


def _errors() -> list[str]:
    with transaction() as session:
        return list(session.execute(select(IngestError.message)).scalars())


def _item(httpserver: HTTPServer, path: str) -> dict[str, str]:
    return {"title": "标题", "link": httpserver.url_for(path), "summary": SUMMARY}


def _serve_feed(httpserver: HTTPServer, items: list[dict[str, str]]) -> int:
    httpserver.expect_request("/feed.rss").respond_with_data(summary_feed(items),
                                                              content_type="application/rss+xml")
    return _source(httpserver.url_for("/feed.rss"))


def test_summary_feed_gets_full_text(database_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/utf8").respond_with_data(
        article_page("UTF-8 页面", BODY, body_id="story"), content_type="text/html", headers={"ETag": '"u1"'})
    httpserver.expect_request("/gbk").respond_with_data(  # GBK, declared only in a <meta>
        article_page("GBK 页面", BODY.replace("记者", "本报记者"), charset="gbk"), content_type="text/html")
    source_id = _serve_feed(httpserver, [
        {"title": "UTF-8 页面", "link": httpserver.url_for("/utf8"), "summary": SUMMARY},
        {"title": "GBK 页面", "link": httpserver.url_for("/gbk"), "summary": SUMMARY, "category": "新浪财经"},
    ])
    report = ingest.poll_source(source_id)
    assert (report.status, report.new, len(report.page_fetches)) == ("ok", 2, 2)
    utf8_id, gbk_id = report.page_fetches
    assert _article(utf8_id).text == SUMMARY  # the poll stored the summaries and fetched no page
    assert [request.path for request, _ in httpserver.log] == ["/feed.rss"]

    outcomes = fulltext.run_pending_fetches()
    assert [(o.status, o.message) for o in outcomes] == [
        ("done", "page (readability)"), ("done", "page (rule sina-finance)")]
    for article_id, first in ((utf8_id, "第0段。记者"), (gbk_id, "第0段。本报记者")):
        article = _article(article_id)
        assert article.text.startswith(first) and "第7段" in article.text
        assert not any(chrome in article.text for chrome in CHROME_TEXTS)
    assert _article(utf8_id).content_source == "page (readability)"
    assert _article(gbk_id).content_source == "page (rule sina-finance)"
    page = _page_fetch(utf8_id)
    assert (page.status, page.etag, page.error) == ("done", '"u1"', None)
    with transaction() as session:
        kinds = session.execute(select(RawPayload.kind, func.count()).group_by(RawPayload.kind)).all()
    assert sorted(kinds) == [("feed", 1), ("page", 2)]

    # Idempotent: a second run (a redelivered task) fetches nothing.
    assert fulltext.fetch_full_text(utf8_id) == []
    assert len(httpserver.log) == 3


def test_page_refetch_is_conditional(sqlite_url: str, httpserver: HTTPServer) -> None:
    def page(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(article_page("标题", BODY, body_id="story"), content_type="text/html",
                        headers={"ETag": '"v1"'})

    httpserver.expect_request("/a").respond_with_handler(page)
    source_id = _serve_feed(httpserver, [_item(httpserver, "/a")])
    (article_id,) = ingest.poll_source(source_id).page_fetches
    fulltext.run_pending_fetches()
    full_text = _article(article_id).text
    with transaction() as session:  # the feed entry changed: the page is wanted again
        page_row = session.execute(select(PageFetch)).scalar_one()
        pages.queue_page_fetch(session, source_id, page_row.entry_key, article_id, page_row.url, "test",
                               ingest.utcnow())
    assert [o.status for o in fulltext.fetch_full_text(article_id)] == ["done"]
    assert httpserver.log[-1][0].headers.get("If-None-Match") == '"v1"'
    assert httpserver.log[-1][1].status_code == 304  # re-extracted from the archived page
    assert _article(article_id).text == full_text


_slow_done = threading.Event()


def _slow(request: Request) -> Response:
    time.sleep(1.2)
    _slow_done.set()  # the test server is single-threaded: the next test waits for this
    return Response("<html><body>late</body></html>", content_type="text/html")


@pytest.mark.parametrize(("path", "kind", "message"), [
    ("/missing", "http", "HTTP 404"),
    ("/slow", "timeout", "timed out"),
    ("/huge", "too-large", "larger than 200000 bytes"),
    ("/image.png", "not-html", "not an HTML page (image/png)"),
])
def test_failed_page_keeps_the_summary(
    sqlite_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, path: str, kind: str,
    message: str,
) -> None:
    monkeypatch.setenv("FEEDWASH_FETCH_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("FEEDWASH_FETCH_MAX_BYTES", "200000")
    from worker.settings import get_settings

    get_settings.cache_clear()
    httpserver.expect_request("/missing").respond_with_data("gone", status=404)
    httpserver.expect_request("/slow").respond_with_handler(_slow)
    httpserver.expect_request("/huge").respond_with_data(
        article_page("大", BODY * 200, body_id="story"), content_type="text/html")
    httpserver.expect_request("/image.png").respond_with_data(b"\x89PNG\r\n\x1a\n" + bytes(64),
                                                              content_type="image/png")
    url = httpserver.url_for(path)
    source_id = _serve_feed(httpserver, [{"title": "标题", "link": url, "summary": SUMMARY}])
    (article_id,) = ingest.poll_source(source_id).page_fetches
    (outcome,) = fulltext.run_pending_fetches()
    assert outcome.status == "error" and message in outcome.message
    assert _article(article_id).text == SUMMARY and _article(article_id).content_source is None
    page = _page_fetch(article_id)
    assert (page.status, page.error_kind, page.attempts) == ("error", kind, 1)
    assert [m for m in _errors() if url in m] == [f"full text of article {article_id}: {page.error}"]
    if path == "/slow":
        assert _slow_done.wait(5)


def test_celery_attempt_with_retries_left_stays_pending(sqlite_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("busy", status=503)
    source_id = _serve_feed(httpserver, [_item(httpserver, "/a")])
    (article_id,) = ingest.poll_source(source_id).page_fetches
    (outcome,) = fulltext.fetch_full_text(article_id, final=False)
    assert outcome.status == "retry"
    assert (_page_fetch(article_id).status, _page_fetch(article_id).attempts) == ("pending", 1)
    (outcome,) = fulltext.fetch_full_text(article_id, final=True)
    assert (outcome.status, _page_fetch(article_id).status) == ("error", "error")


def test_full_page_of_a_seed_collapses_onto_it(
    database_url: str, httpserver: HTTPServer, tmp_path: Path,
) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "post.txt").write_bytes(SEED_FILE.read_bytes())
    assert ingest.import_seeds(folder).imported == 1
    seed_body = parse_seed(SEED_FILE.read_bytes(), "seed").html
    httpserver.expect_request("/doc.shtml").respond_with_data(  # Sina's page: the body in #artibody
        article_page("北京市多措并举推动消费帮扶工作取得新成效", seed_body, charset="gbk"),
        content_type="text/html")
    source_id = _serve_feed(httpserver, [{
        "title": "北京市多措并举推动消费帮扶工作取得新成效", "link": httpserver.url_for("/doc.shtml"),
        "summary": "2021年，北京市深化落实……", "category": "新浪财经"}])
    (summary_id,) = ingest.poll_source(source_id).page_fetches
    with transaction() as session:
        assert repo.count_articles(session) == 2
        seed_id = session.execute(select(Article.id).where(Article.id != summary_id)).scalar_one()
    (outcome,) = fulltext.run_pending_fetches()
    assert (outcome.status, outcome.article_id) == ("done", seed_id)
    with transaction() as session:
        assert repo.count_articles(session) == 1  # the summary article went: one story, one article
        sightings = session.execute(select(Sighting.source_id, Sighting.article_id)).all()
    assert len(sightings) == 2 and {article for _, article in sightings} == {seed_id}
    assert source_id in {source for source, _ in sightings}  # the feed's sighting moved to the seed
    assert _page_fetch(seed_id).content_source == "page (rule sina-finance)"
    assert _article(seed_id).content_source is None  # its content is still the seed's
    result = runner.invoke(app, ["explain", str(seed_id)])
    assert result.exit_code == 0
    assert "content from: seed" in result.stdout
    assert f"seen in: feed {source_id} {httpserver.url_for('/feed.rss')}" in result.stdout
    assert ("doc.shtml: done: page (rule sina-finance); wanted because the feed text ends with '…'"
            in result.stdout)
    # The next poll finds the feed entry unchanged: no new summary article, no new page fetch.
    report = ingest.poll_source(source_id)
    assert (report.unchanged, report.page_fetches) == (1, [])


def test_poll_once_leaves_full_articles(sqlite_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(article_page("标题", BODY, body_id="story"),
                                                      content_type="text/html")
    httpserver.expect_request("/feed.rss").respond_with_data(
        summary_feed([{"title": "标题", "link": httpserver.url_for("/a"), "summary": SUMMARY}]))
    added = runner.invoke(app, ["feeds", "add", httpserver.url_for("/feed.rss"), "--full-text", "auto"])
    assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["poll", "--once"])
    assert result.exit_code == 0, result.output
    assert [line.split() for line in result.stdout.splitlines() if "full text" in line] == [
        ["1", "full", "text", "done", "page", "(readability)", httpserver.url_for("/a")]]
    with transaction() as session:
        (article,) = session.execute(select(Article)).scalars()
    assert "第7段" in article.text and article.content_source == "page (readability)"

    refetch = runner.invoke(app, ["articles", "refetch", str(article.id)])
    assert refetch.exit_code == 0 and "full text done" in refetch.stdout
    assert "If-None-Match" not in httpserver.log[-1][0].headers  # a refetch is unconditional
    explained = runner.invoke(app, ["explain", str(article.id)]).stdout
    assert "content from: page (readability)" in explained


def test_full_text_setting_from_cli_and_sources_file(sqlite_url: str, tmp_path: Path) -> None:
    added = runner.invoke(app, ["feeds", "add", "https://example.com/feed", "--full-text", "always"])
    source_id = int(added.stdout.split()[0])
    assert runner.invoke(app, ["feeds", "set", str(source_id), "--full-text", "never"]).exit_code == 0
    bad = runner.invoke(app, ["feeds", "set", str(source_id), "--full-text", "sometimes"])
    assert bad.exit_code == 2 and "'sometimes' is not one of never, auto, always" in bad.stderr
    assert runner.invoke(app, ["feeds", "set", "999", "--full-text", "auto"]).exit_code == 1
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - url: https://example.com/feed\n    full_text: always\n"
                       "  - url: https://example.com/other\n")
    from worker import config

    ingest.sync_sources(config.load_sources(sources))
    with transaction() as session:
        modes = dict(session.execute(select(repo.Source.url, repo.Source.full_text)).all())
    assert modes == {"https://example.com/feed": "always", "https://example.com/other": None}
    shown = runner.invoke(app, ["feeds", "show", str(source_id)]).stdout
    assert "full text: always" in shown
    sources.write_text("sources:\n  - url: https://example.com/feed\n    full_text: maybe\n")
    with pytest.raises(ValueError, match="full_text: 'maybe' is not one of never, auto, always"):
        config.load_sources(sources)


def test_never_and_complete_entries_fetch_nothing(sqlite_url: str, httpserver: HTTPServer) -> None:
    items = [{"title": "完整", "link": httpserver.url_for("/a"), "summary": BODY}]
    httpserver.expect_request("/feed.rss").respond_with_data(summary_feed(items))
    auto_id = _source(httpserver.url_for("/feed.rss"), "auto")
    never_id = _source(httpserver.url_for("/feed.rss") + "?x", "never")
    httpserver.expect_request("/feed.rss", query_string="x").respond_with_data(
        summary_feed([{"title": "摘要", "link": httpserver.url_for("/b"), "summary": SUMMARY}]))
    assert ingest.poll_source(auto_id).page_fetches == []  # the feed carries the whole text
    assert ingest.poll_source(never_id).page_fetches == []
    assert fulltext.run_pending_fetches() == []


def test_changed_entry_refetches_its_page_conditionally(sqlite_url: str, httpserver: HTTPServer) -> None:
    def page(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(article_page("标题", BODY, body_id="story"), content_type="text/html",
                        headers={"ETag": '"v1"'})

    httpserver.expect_request("/a").respond_with_handler(page)
    feed = {"body": summary_feed([_item(httpserver, "/a")])}
    httpserver.expect_request("/feed.rss").respond_with_handler(
        lambda request: Response(feed["body"], content_type="application/rss+xml"))
    source_id = _source(httpserver.url_for("/feed.rss"))
    (article_id,) = ingest.poll_source(source_id).page_fetches
    fulltext.run_pending_fetches()
    full_text = _article(article_id).text
    # The publisher edits the summary: the feed's content is stored, then the page restores it.
    feed["body"] = summary_feed([{**_item(httpserver, "/a"), "summary": "改过的摘要……"}])
    assert ingest.poll_source(source_id).page_fetches == [article_id]
    assert (_article(article_id).text, _article(article_id).content_source) == ("改过的摘要……", None)
    assert [o.status for o in fulltext.run_pending_fetches()] == ["done"]
    assert httpserver.log[-1][1].status_code == 304  # conditional, re-extracted from the archive
    restored = _article(article_id)
    assert (restored.text, restored.content_source) == (full_text, "page (readability)")
    # Reprocessing the feed's archive reads feed payloads only, never the archived page.
    from worker import poll

    assert poll.reprocess_source(source_id).errors == []
