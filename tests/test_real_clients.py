"""Real feed clients against the real app served by uvicorn on 127.0.0.1: feedparser over
HTTP, and the `reader` library (lemon24/reader) as a subscriber's feed reader."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from reader import make_reader

from tests.publishing_support import RecordingApp, add_articles, import_fixture_seeds, live_server
from worker.web.app import app


def test_feedparser_over_http_with_conditional_get(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_fixture_seeds(tmp_path)
    recording = RecordingApp(app)
    with live_server(recording, monkeypatch) as base:
        for fmt in ("atom", "rss", "json"):
            url = f"{base}/feeds/all.{fmt}"
            if fmt == "json":  # feedparser 6 does not read JSON Feed: reader does, below
                continue
            first = feedparser.parse(url, sanitize_html=False)
            assert first.status == 200 and first.bozo == 0, first.get("bozo_exception")
            assert first.feed.links[0]["href"] == url or any(
                link["rel"] == "self" and link["href"] == url for link in first.feed.links)
            titles = sorted(e.title for e in first.entries)
            assert titles == ["AI 篮球裁判火了，走步算得特别准，就问哈登慌不慌",
                              "北京市多措并举推动消费帮扶工作取得新成效"]
            assert first.headers.get("content-encoding") == "gzip"  # feedparser asks for it
            second = feedparser.parse(url, etag=first.etag, modified=first.modified)
            assert second.status == 304 and second.entries == []
    conditional = [(m, p, s) for m, p, h, s in recording.seen if "if-none-match" in h]
    assert conditional == [("GET", "/feeds/all.atom", 304), ("GET", "/feeds/all.rss", 304)]


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_reader_subscribes_updates_and_revalidates(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import_fixture_seeds(tmp_path)
    add_articles("https://news.example.cn/feed.xml", 5)
    recording = RecordingApp(app)
    with live_server(recording, monkeypatch) as base:
        url = f"{base}/feeds/all.{fmt}"
        subscriber = make_reader(str(tmp_path / "reader.sqlite"))
        try:
            subscriber.add_feed(url)
            # scheduled=False: poll now, whatever reader's own schedule says
            subscriber.update_feeds(scheduled=False)
            entries = list(subscriber.get_entries())
            assert len(entries) == 7 and len({e.id for e in entries}) == 7  # each arrives once
            by_title = {e.title: e for e in entries}
            seed = by_title["北京市多措并举推动消费帮扶工作取得新成效"]
            html = seed.content[0].value if seed.content else seed.summary
            assert "强化组织领导" in html and "责任编辑" not in html
            assert by_title["文章 4 & <不是标签>"].id.startswith("tag:feedwash.local,2026:article:")
            assert subscriber.get_feed(url).title == "feedwash: all articles"

            subscriber.update_feeds(scheduled=False)  # nothing changed: the server answers 304
            assert len(list(subscriber.get_entries())) == 7
            add_articles("https://news.example.cn/feed.xml", 1, start=5)
            subscriber.update_feeds(scheduled=False)  # one new article arrives, the others are not duplicated
            entries = list(subscriber.get_entries())
            assert len(entries) == 8 and len({e.id for e in entries}) == 8
        finally:
            subscriber.close()
    feed_requests = [(h.get("if-none-match"), s) for m, p, h, s in recording.seen if p.endswith(fmt)]
    assert [s for _, s in feed_requests] == [200, 304, 200]
    assert feed_requests[0][0] is None and feed_requests[1][0] and feed_requests[2][0]
