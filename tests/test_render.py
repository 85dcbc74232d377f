"""worker.core.render: each format parses back (feedparser / json) to the items it was given."""

from __future__ import annotations

import calendar
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import pytest

from worker.core.render import (
    FEED_MEDIA_TYPES,
    clean_text,
    render,
    render_atom,
    render_json,
    render_rss,
)
from worker.core.types import FeedItem, FeedMeta

SHANGHAI = ZoneInfo("Asia/Shanghai")
LINKS = {"next": "http://feedwash.test/feeds/all.atom?page=2", "hub": "http://hub.test/"}

META = FeedMeta(
    title="feedwash: all articles",
    self_url="http://feedwash.test/feeds/all.atom",
    home_url="http://feedwash.test/",
    id="tag:feedwash.test,2024:feed:all",
    updated=datetime(2024, 5, 2, 9, 0, tzinfo=SHANGHAI),  # 01:00Z
)

CHINESE = FeedItem(
    id="tag:feedwash.test,2024:article:a1",
    title="中文标题：清洗后的文章",
    link="http://example.cn/posts/1",
    html="<p>这是正文。</p>",
    summary="这是摘要。",
    published=datetime(2024, 5, 1, 8, 30, tzinfo=SHANGHAI),  # 00:30Z
    updated=datetime(2024, 5, 1, 10, 0, tzinfo=SHANGHAI),
    author="张三",
    categories=("新闻", "科技"),
    image="http://example.cn/img/lead.jpg",
    related_links=("http://mirror.example/posts/1",),
    extension={"content_hash": "abc123", "sources": [{"source": "来源", "url": "http://s/1"}]},
)
ENTITIES = FeedItem(
    id="tag:feedwash.test,2024:article:a2",
    title="Tom & Jerry <3",
    link="http://example.com/tom?a=1&b=2",
    html="<p><b>html &amp; entities</b> &lt;not a tag&gt; &quot;q&quot;</p>",
    summary="html & entities <not a tag>",
    published=datetime(2024, 4, 30, 23, 59, 59, tzinfo=UTC),
    updated=datetime(2024, 4, 30, 23, 59, 59, tzinfo=UTC),
    author="Jane Doe",
    categories=("a&b",),
    image="http://example.com/i.png?w=1&h=2",
)
CONTROL = FeedItem(
    id="tag:feedwash.test,2024:article:a3",
    title="bad\x0bchar",
    link="http://example.com/3",
    html="<p>body\x00 with\x1f controls\ufffe</p>",
    summary="s\x0cummary",
    published=datetime(2024, 4, 29, 12, 0, tzinfo=UTC),
    updated=datetime(2024, 4, 29, 12, 0, tzinfo=UTC),
    author="X\x08Y",
    categories=("c\x01at",),
)
BARE = FeedItem(
    id="tag:feedwash.test,2024:article:a4",
    title="No extras",
    link="http://example.com/4",
    html="<p>plain</p>",
    summary="plain",
    published=datetime(2024, 4, 28, 12, 0, tzinfo=UTC),
    updated=datetime(2024, 4, 28, 12, 0, tzinfo=UTC),
)
ITEMS = (CHINESE, ENTITIES, CONTROL, BARE)

# What each item should look like after cleaning (only CONTROL changes).
EXPECTED = {
    CHINESE.id: CHINESE,
    ENTITIES.id: ENTITIES,
    CONTROL.id: FeedItem(
        id=CONTROL.id,
        title="badchar",
        link=CONTROL.link,
        html="<p>body with controls</p>",
        summary="summary",
        published=CONTROL.published,
        updated=CONTROL.updated,
        author="XY",
        categories=("cat",),
    ),
    BARE.id: BARE,
}


def parse(data: bytes) -> Any:
    """feedparser with its sanitizer off (worker.core.feed turns it off globally anyway), so
    content compares exactly."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def parsed_epoch(struct: Any) -> int:
    return calendar.timegm(struct)


def test_atom_round_trip() -> None:
    data = render_atom(META, ITEMS, LINKS)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    parsed = parse(data)
    feed = parsed.feed
    assert feed.id == META.id
    assert feed.title == META.title
    assert feed.language == "zh-CN"
    assert feed.generator == "feedwash"
    assert feed.author == "feedwash"
    assert feed.updated == "2024-05-02T01:00:00Z"
    links = {(link.rel, link.href) for link in feed.links}
    assert ("self", META.self_url) in links
    assert ("alternate", META.home_url) in links
    assert ("next", LINKS["next"]) in links
    assert ("hub", LINKS["hub"]) in links
    assert [e.id for e in parsed.entries] == [i.id for i in ITEMS]
    for entry in parsed.entries:
        item = EXPECTED[entry.id]
        assert entry.title == item.title
        assert entry.link == item.link
        assert parsed_epoch(entry.published_parsed) == epoch(item.published)
        assert parsed_epoch(entry.updated_parsed) == epoch(item.updated)
        assert entry.get("author") == item.author  # feedparser does not inherit feed author
        assert [t.term for t in entry.get("tags", [])] == list(item.categories)
        assert entry.summary == item.summary
        assert entry.content[0].type == "text/html"
        assert entry.content[0].value == item.html
        related = [link.href for link in entry.links if link.rel == "related"]
        assert related == list(item.related_links)
        thumbs = [t["url"] for t in entry.get("media_thumbnail", [])]
        assert thumbs == ([item.image] if item.image else [])


def test_atom_dates_are_utc_rfc3339() -> None:
    data = render_atom(META, [CHINESE]).decode()
    assert "<published>2024-05-01T00:30:00Z</published>" in data
    assert "<updated>2024-05-01T02:00:00Z</updated>" in data


def test_rss_round_trip() -> None:
    data = render_rss(META, ITEMS, LINKS)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    parsed = parse(data)
    assert parsed.version == "rss20"
    feed = parsed.feed
    assert feed.title == META.title
    assert feed.link == META.home_url
    assert feed.language == "zh-CN"
    assert feed.updated == "Thu, 02 May 2024 01:00:00 GMT"
    links = {(link.rel, link.href) for link in feed.links}
    assert ("self", META.self_url) in links
    assert ("next", LINKS["next"]) in links
    assert ("hub", LINKS["hub"]) in links
    assert [e.id for e in parsed.entries] == [i.id for i in ITEMS]
    for entry in parsed.entries:
        item = EXPECTED[entry.id]
        assert entry.guidislink is False  # isPermaLink="false"
        assert entry.title == item.title
        assert entry.link == item.link
        assert parsed_epoch(entry.published_parsed) == epoch(item.published)
        assert entry.get("author") == item.author
        assert [t.term for t in entry.get("tags", [])] == list(item.categories)
        assert entry.summary == item.html  # <description> carries the cleaned html
        thumbs = [t["url"] for t in entry.get("media_thumbnail", [])]
        assert thumbs == ([item.image] if item.image else [])
    first = render_rss(META, [CHINESE]).decode()
    assert "<pubDate>Wed, 01 May 2024 00:30:00 GMT</pubDate>" in first


def test_json_round_trip() -> None:
    data = render_json(META, ITEMS, LINKS)
    feed = json.loads(data.decode("utf-8"))
    assert "中文标题" in data.decode("utf-8")  # ensure_ascii=False: no \\u escapes
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == META.title
    assert feed["home_page_url"] == META.home_url
    assert feed["feed_url"] == META.self_url
    assert feed["language"] == "zh-CN"
    assert feed["next_url"] == LINKS["next"]
    assert feed["hubs"] == [{"type": "WebSub", "url": LINKS["hub"]}]
    assert [i["id"] for i in feed["items"]] == [i.id for i in ITEMS]
    for out in feed["items"]:
        item = EXPECTED[out["id"]]
        assert out["url"] == item.link
        assert out["title"] == item.title
        assert out["content_html"] == item.html
        assert out["summary"] == item.summary
        assert datetime.fromisoformat(out["date_published"]) == item.published
        assert datetime.fromisoformat(out["date_modified"]) == item.updated
        assert out["date_published"].endswith("Z")
        assert out.get("image") == item.image
        assert out.get("authors") == ([{"name": item.author}] if item.author else None)
        assert out.get("tags", []) == list(item.categories)
    by_id = {i["id"]: i for i in feed["items"]}
    assert by_id[CHINESE.id]["_feedwash"] == CHINESE.extension
    assert "_feedwash" not in by_id[BARE.id]


def test_json_without_links_has_no_next_or_hubs() -> None:
    feed = json.loads(render_json(META, [BARE]))
    assert "next_url" not in feed
    assert "hubs" not in feed


def test_control_characters_are_stripped() -> None:
    for fmt in FEED_MEDIA_TYPES:
        data = render(fmt, META, [CONTROL])
        for bad in ("\x0b", "\x00", "\x1f", "\x0c", "\x08", "\x01", "\ufffe"):
            assert bad.encode("utf-8") not in data, (fmt, bad)
    assert parse(render_atom(META, [CONTROL])).entries[0].title == "badchar"
    assert json.loads(render_json(META, [CONTROL]))["items"][0]["title"] == "badchar"


def test_clean_text_keeps_legal_whitespace_and_drops_surrogates() -> None:
    assert clean_text("a\tb\nc\rd") == "a\tb\nc\rd"
    assert clean_text("x\ud800y\udfffz\uffff") == "xyz"
    assert clean_text("中文 😀") == "中文 😀"


def test_lone_surrogate_in_extension_does_not_break_json() -> None:
    item = FeedItem(**{**BARE.__dict__, "extension": {"k\ud800": ["v\udc00", 1, None]}})
    feed = json.loads(render_json(META, [item]))
    assert feed["items"][0]["_feedwash"] == {"k": ["v", 1, None]}


def test_render_dispatch_and_media_types() -> None:
    assert render("atom", META, ITEMS) == render_atom(META, ITEMS)
    assert render("rss", META, ITEMS, LINKS) == render_rss(META, ITEMS, LINKS)
    assert render("json", META, ITEMS) == render_json(META, ITEMS)
    assert set(FEED_MEDIA_TYPES) == {"atom", "rss", "json"}
    with pytest.raises(ValueError, match="unknown feed format"):
        render("html", META, ITEMS)


def test_output_is_deterministic() -> None:
    # The web app's ETag is a hash of these bytes.
    for fmt in FEED_MEDIA_TYPES:
        assert render(fmt, META, ITEMS, LINKS) == render(fmt, META, ITEMS, LINKS)


def test_empty_feed_is_valid() -> None:
    assert parse(render_atom(META, [])).entries == []
    assert parse(render_rss(META, [])).entries == []
    assert json.loads(render_json(META, []))["items"] == []


def test_naive_datetime_is_rejected() -> None:
    naive = FeedItem(**{**BARE.__dict__, "published": datetime(2024, 1, 1)})
    for fmt in FEED_MEDIA_TYPES:
        with pytest.raises(ValueError, match="naive datetime"):
            render(fmt, META, [naive])


def test_links_must_not_repeat_self_or_alternate() -> None:
    for fmt in FEED_MEDIA_TYPES:
        with pytest.raises(ValueError, match="self"):
            render(fmt, META, ITEMS, {"self": "http://elsewhere/"})
