"""WebSub publishing against a hub running on 127.0.0.1 (pytest-httpserver records the pings),
and the OPML list of every output feed."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, quote

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from pytest_httpserver import HTTPServer

from tests.publishing_support import add_articles, import_fixture_seeds
from worker import ingest, websub
from worker.settings import get_settings
from worker.web.app import app

client = TestClient(app)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def hub(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    monkeypatch.setenv("FEEDWASH_WEBSUB_HUB", httpserver.url_for("/hub"))
    get_settings.cache_clear()
    httpserver.expect_request("/hub", method="POST").respond_with_data("", status=204)
    return httpserver


def _pinged(server: HTTPServer) -> list[str]:
    urls = []
    for request, _ in server.log:
        form = parse_qsl(request.get_data(as_text=True))
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert dict(form)["hub.mode"] == "publish"
        urls += [v for k, v in form if k == "hub.url"]
    return urls


def test_new_articles_ping_the_hub_for_the_feeds_they_changed(
    database_url: str, tmp_path: Path, hub: HTTPServer
) -> None:
    import_fixture_seeds(tmp_path)
    base = "http://feedwash.test/feeds/"
    pinged = _pinged(hub)
    assert len(pinged) == len(set(pinged))
    assert {f"{base}all.atom", f"{base}all.rss", f"{base}all.json", f"{base}source/1.atom",
            f"{base}category/{quote('新浪财经-国內')}.rss"} <= set(pinged)
    assert len(pinged) == 3 * (1 + 3 + 1)  # all, 3 categories, the seed source; 3 formats each

    hub.clear_log()
    assert ingest.import_seeds(tmp_path / "seeds").unchanged == 3
    assert _pinged(hub) == []  # nothing changed, nothing announced


def test_feeds_carry_the_hub(sqlite_url: str, hub: HTTPServer) -> None:
    add_articles("https://news.example.cn/feed.xml", 2)
    root = etree.fromstring(client.get("/feeds/all.atom").content)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["hub"] == hub.url_for("/hub") and links["self"] == "http://feedwash.test/feeds/all.atom"
    rss = etree.fromstring(client.get("/feeds/source/1.rss").content)
    assert [lk.get("href") for lk in rss.iter(f"{ATOM}link") if lk.get("rel") == "hub"] == [
        hub.url_for("/hub")]
    assert json.loads(client.get("/feeds/all.json").content)["hubs"] == [
        {"type": "WebSub", "url": hub.url_for("/hub")}]


def test_a_hub_that_is_down_does_not_fail_ingest(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    monkeypatch.setenv("FEEDWASH_WEBSUB_HUB", httpserver.url_for("/hub"))
    get_settings.cache_clear()
    httpserver.expect_request("/hub").respond_with_data("overloaded", status=503)
    import_fixture_seeds(tmp_path)  # asserts the import report itself
    assert websub.notify_hub(["http://feedwash.test/feeds/all.atom"]) == 0


def test_no_hub_means_no_rel_hub(sqlite_url: str) -> None:
    add_articles("https://news.example.cn/feed.xml", 1)
    assert b'rel="hub"' not in client.get("/feeds/all.atom").content


def test_opml_lists_every_output_feed(database_url: str, tmp_path: Path) -> None:
    import_fixture_seeds(tmp_path)
    add_articles("https://news.example.cn/feed.xml", 2, categories=("科技",))
    response = client.get("/feeds.opml")
    assert response.headers["content-type"] == "text/x-opml; charset=utf-8"
    root = etree.fromstring(response.content)
    assert root.get("version") == "2.0" and root.findtext("head/title") == "feedwash feeds"
    body = root.find("body")
    assert body is not None
    groups = {g.get("text"): [o.get("xmlUrl") for o in g] for g in body}
    base = "http://feedwash.test/feeds/"
    assert groups["All"] == [f"{base}all.atom"]
    assert groups["Sources"] == [f"{base}source/1.atom", f"{base}source/2.atom"]
    assert sorted(groups["Categories"]) == sorted(
        f"{base}category/{quote(s)}.atom" for s in ("新浪财经", "新浪财经-国內", "金融", "科技"))
    for urls in groups.values():  # every listed feed is served
        for url in urls:
            assert client.get(url.removeprefix("http://feedwash.test")).status_code == 200, url
    rss = etree.fromstring(client.get("/feeds.opml?format=rss").content)
    assert all(o.get("xmlUrl", ".rss").endswith(".rss") for o in rss.iter("outline"))
