"""HTTP behaviour of the feeds: strong ETag over the items, Last-Modified, 304 on
If-None-Match and If-Modified-Since, Cache-Control, gzip, HEAD, 404s, and a render cache that
is invalidated by writes and skips rendering when nothing changed."""

from __future__ import annotations

import gzip
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.publishing_support import BASE_TIME, add_articles
from worker import publish
from worker.web import feeds
from worker.web.app import app

client = TestClient(app)
SOURCE = "https://news.example.cn/feed.xml"


def test_validators_and_conditional_get(database_url: str) -> None:
    add_articles(SOURCE, 3)
    first = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    # The newest item is #2, published BASE_TIME + 2 h; updated equals published.
    assert parsedate_to_datetime(first.headers["last-modified"]) == BASE_TIME.replace(hour=10)
    assert first.headers["cache-control"] == "public, max-age=300"
    assert first.headers["vary"] == "Accept-Encoding"
    again = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    assert again.headers["etag"] == etag and again.content == first.content

    by_etag = client.get("/feeds/all.atom", headers={"If-None-Match": f'"other", {etag}'})
    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag.headers["last-modified"] == first.headers["last-modified"]
    weak = client.get("/feeds/all.atom", headers={"If-None-Match": "W/" + etag})
    assert weak.status_code == 304
    assert client.get("/feeds/all.atom", headers={"If-None-Match": '"stale"'}).status_code == 200

    ims = first.headers["last-modified"]
    assert client.get("/feeds/all.atom", headers={"If-Modified-Since": ims}).status_code == 304
    older = format_datetime(BASE_TIME, usegmt=True)
    assert client.get("/feeds/all.atom", headers={"If-Modified-Since": older}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.2.2).
    both = {"If-None-Match": '"stale"', "If-Modified-Since": ims}
    assert client.get("/feeds/all.atom", headers=both).status_code == 200

    add_articles(SOURCE, 1, start=3)
    changed = client.get("/feeds/all.atom", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.content.count(b"<entry>") == 4


def test_gzip_and_head(sqlite_url: str) -> None:
    add_articles(SOURCE, 5)
    plain = client.get("/feeds/all.rss", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.content == plain.content  # httpx decoded it
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.headers["etag"] != plain.headers["etag"]  # strong ETags differ per coding
    revalidate = client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip",
                                                       "If-None-Match": zipped.headers["etag"]})
    assert revalidate.status_code == 304
    assert client.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip;q=0"}).headers.get(
        "content-encoding") is None
    head = client.head("/feeds/all.rss", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == plain.headers["etag"]
    assert int(head.headers["content-length"]) == len(plain.content)
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"  # pages through the middleware


def test_a_category_feed_typed_in_capitals_redirects_to_its_slug(sqlite_url: str) -> None:
    """Slugs are lower-case; a typed `/feeds/category/Tech.atom` was a 404 (found by an audit in
    session 5). It is a 301 to the feed's one URL, with its query."""
    add_articles(SOURCE, 2, categories=("Tech News",))
    moved = client.get("/feeds/category/Tech%20News.atom?limit=1", follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (301, "/feeds/category/tech-news.atom?limit=1")
    assert client.get("/feeds/category/Tech%20News.atom").status_code == 200  # followed
    assert client.get("/feeds/category/Nope.atom").status_code == 404  # after the redirect


def test_unknown_feeds_and_bad_parameters(sqlite_url: str) -> None:
    add_articles(SOURCE, 2, categories=("新浪财经－国內",))
    assert client.get(f"/feeds/category/{quote('新浪财经-国內')}.atom").status_code == 200
    assert client.get("/feeds/category/nope.atom").status_code == 404
    assert client.get("/feeds/source/99.atom").status_code == 404
    assert client.get("/feeds/source/abc.rss").status_code == 404
    assert client.get("/feeds/all.xml").status_code == 404
    assert client.get("/feeds/all.atom?since=yesterday").status_code == 400
    assert client.get("/feeds/all.atom?since=2026-03-01T00:00:00").status_code == 400  # no zone
    assert client.get("/feeds/all.atom?limit=0").status_code == 422
    assert client.get("/feeds/all.atom?page=1&q=x").status_code == 400
    assert client.get("/feeds/all.atom?page=3").status_code == 404


def test_limit_is_capped(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_FEED_MAX_LIMIT", "4")
    from worker.settings import get_settings

    get_settings.cache_clear()
    add_articles(SOURCE, 6)
    assert client.get("/feeds/all.json?limit=100").json()["items"].__len__() == 4


def test_unchanged_articles_are_not_rendered_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_articles(SOURCE, 3)
    feeds.CACHE.clear()
    builds: list[publish.FeedRequest] = []
    real_build = feeds.build

    def counting_build(*args: object) -> publish.FeedDocument:
        builds.append(args[2])  # type: ignore[arg-type]
        return real_build(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(feeds, "build", counting_build)
    bodies = {client.get("/feeds/all.atom").content for _ in range(5)}
    assert len(bodies) == 1 and len(builds) == 1
    client.get("/feeds/all.atom?limit=2")
    assert len(builds) == 2  # another query is another cache entry
    add_articles(SOURCE, 1, start=3)  # a write changes the articles version
    assert client.get("/feeds/all.atom").content not in bodies
    assert len(builds) == 3
    # The same story from another feed: no new article, only a new sighting of article #0.
    add_articles("https://other.example.cn/feed.xml", 1, start=0, source_title="另一个来源")
    seen_in = client.get("/feeds/all.json").json()["items"][-1]["_feedwash"]["sources"]
    assert [s["source"] for s in seen_in] == ["示例来源", "另一个来源"]


def test_precompressed_body_is_the_identity_body(sqlite_url: str) -> None:
    add_articles(SOURCE, 3)
    feeds.CACHE.clear()
    response = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    key = next(iter(feeds.CACHE._entries))
    rendered = feeds.CACHE._entries[key][1]
    assert rendered.gzipped is not None and gzip.decompress(rendered.gzipped) == rendered.body
    assert response.content == rendered.body


def test_since_with_an_unencoded_plus_offset(sqlite_url: str) -> None:
    """`?since=...T17:00:00+08:00` typed as is: the "+" reaches the app as a space. It was a 400
    ("not an RFC 3339 date-time"); it means +08:00 (found by an audit in session 5)."""
    add_articles(SOURCE, 3)  # published 08:00, 09:00 and 10:00 UTC
    typed = client.get("/feeds/all.json?since=2026-03-01T17:00:00+08:00")
    encoded = client.get("/feeds/all.json?since=2026-03-01T17:00:00%2B08:00")
    assert typed.status_code == encoded.status_code == 200
    assert [i["id"] for i in typed.json()["items"]] == [i["id"] for i in encoded.json()["items"]]
    assert len(typed.json()["items"]) == 2
    assert client.get("/feeds/all.json?since=2026-03-01 09:00:00").status_code == 400  # still no zone


def test_head_on_pages_and_probes(sqlite_url: str) -> None:
    """Uptime monitors and link checkers send HEAD: it was a 405 on /, /articles/{id}, /healthz
    and /readyz (found by an audit in session 5)."""
    article_id = add_articles(SOURCE, 1)[0]
    for path in ("/", f"/articles/{article_id}", "/healthz"):
        get, head = client.get(path), client.head(path)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/readyz").status_code == client.get("/readyz").status_code
    assert client.head("/articles/999999").status_code == 404


def test_article_page_without_an_author(sqlite_url: str) -> None:
    """No author: the meta line starts with the date, not with a stray " · " (an audit in session 5)."""
    from worker.storage.db import transaction
    from worker.storage.models import Article

    article_id = add_articles(SOURCE, 1)[0]
    with transaction() as session:
        article = session.get(Article, article_id)
        assert article is not None
        article.author = None
    page = client.get(f"/articles/{article_id}").text
    assert '<p class="meta">2026-03-01 08:00 UTC' in page


def test_q_with_a_nul_character(database_url: str) -> None:
    """`?q=a%00b` was a 500 on PostgreSQL (a text parameter cannot hold NUL) and, on SQLite,
    matched articles that do not contain "a\\0b" (found by an audit in session 5). No stored text
    holds a NUL, so it is a 400 that says why."""
    add_articles(SOURCE, 2)
    for fmt in ("atom", "rss", "json"):
        response = client.get(f"/feeds/all.{fmt}?q=a%00b")
        assert response.status_code == 400, (fmt, response.status_code)
        assert "NUL" in response.json()["detail"]
    assert client.get("/feeds/category/a%00b.atom").status_code == 404


def test_a_dead_source_stands_out_on_the_index(sqlite_url: str) -> None:
    """`dead` is the status an operator must act on; it had no style while `error` was red and
    bold (found by an audit in session 5)."""
    from worker.storage.db import transaction
    from worker.storage.models import Source

    add_articles(SOURCE, 1)
    with transaction() as session:
        for source in session.query(Source):
            source.status = "dead"
    page = client.get("/").text
    assert '<td class="status-dead">dead</td>' in page
    assert ".status-dead{" in page
