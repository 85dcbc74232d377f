"""RFC 5005 paging: fixed-size pages counted from the oldest article, archive pages whose bytes
never change once full, and the link relations that tie pages and the head together."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from tests.publishing_support import add_articles
from worker.settings import get_settings
from worker.web.app import app

client = TestClient(app)
ATOM = "{http://www.w3.org/2005/Atom}"
FH_ARCHIVE = "{http://purl.org/syndication/history/1.0}archive"
FEED = "http://feedwash.test/feeds/all.atom"
SOURCE = "https://news.example.cn/feed.xml"


@pytest.fixture
def page_size_5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_FEED_PAGE_SIZE", "5")
    get_settings.cache_clear()


def _doc(path: str) -> tuple[bytes, dict[str, str], list[str], bool]:
    response = client.get(path, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    titles = [e.findtext(f"{ATOM}title") or "" for e in root.findall(f"{ATOM}entry")]
    return response.content, links, titles, root.find(FH_ARCHIVE) is not None


def test_archive_pages_never_change_once_full(database_url: str, page_size_5: None) -> None:
    add_articles(SOURCE, 12)
    page1, links1, titles1, archived1 = _doc("/feeds/all.atom?page=1")
    page2, links2, titles2, archived2 = _doc("/feeds/all.atom?page=2")
    page3, links3, titles3, archived3 = _doc("/feeds/all.atom?page=3")
    number = [t.split()[1] for t in titles1 + titles2 + titles3]
    assert number == ["4", "3", "2", "1", "0", "9", "8", "7", "6", "5", "11", "10"]
    assert (archived1, archived2, archived3) == (True, True, False)
    assert links2 == {"self": f"{FEED}?page=2", "alternate": "http://feedwash.test/",
                      "first": FEED, "last": f"{FEED}?page=1", "next": f"{FEED}?page=1",
                      "previous": f"{FEED}?page=3", "current": FEED,
                      "prev-archive": f"{FEED}?page=1", "next-archive": f"{FEED}?page=3"}
    assert links3["previous"] == FEED and "current" not in links3  # the page being filled
    assert "next" not in links1 and "prev-archive" not in links1
    _, head_links, head_titles, head_archived = _doc("/feeds/all.atom")
    assert not head_archived and head_titles[0] == "文章 11 & <不是标签>"
    assert {k: head_links[k] for k in ("first", "last", "next", "prev-archive")} == {
        "first": FEED, "last": f"{FEED}?page=1", "next": f"{FEED}?page=3",
        "prev-archive": f"{FEED}?page=2"}
    etag1 = client.get("/feeds/all.atom?page=1").headers["etag"]
    assert client.get("/feeds/all.atom?page=1").headers["cache-control"] == "public, max-age=86400"
    assert client.get("/feeds/all.atom?page=4").status_code == 404

    add_articles(SOURCE, 9, start=12)  # 21 articles: pages 1-4 full, page 5 holds one
    assert _doc("/feeds/all.atom?page=1")[0] == page1
    assert _doc("/feeds/all.atom?page=2")[0] == page2
    assert client.get("/feeds/all.atom?page=1").headers["etag"] == etag1
    filled, _, filled_titles, filled_archived = _doc("/feeds/all.atom?page=3")
    assert filled != page3 and filled_archived and len(filled_titles) == 5
    assert _doc("/feeds/all.atom?page=5")[2] == ["文章 20 & <不是标签>"]


def test_every_article_is_on_exactly_one_page(sqlite_url: str, page_size_5: None) -> None:
    add_articles(SOURCE, 11, categories=("科技",))
    add_articles("https://b.example.cn/feed.xml", 4, start=100, categories=("体育",))
    for scope in ("all", "category/%E7%A7%91%E6%8A%80", "source/1"):
        seen: list[str] = []
        for page in range(1, 4):
            response = client.get(f"/feeds/{scope}.json?page={page}")
            if response.status_code == 404:
                break
            seen += [item["id"] for item in response.json()["items"]]
        assert len(seen) == len(set(seen)) == (15 if scope == "all" else 11), scope
    json_page = client.get("/feeds/all.json?page=2").json()
    assert json_page["next_url"] == "http://feedwash.test/feeds/all.json?page=1"
