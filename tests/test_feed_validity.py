"""The served feeds checked against the rules the W3C feed validator and the RSS Advisory Board
apply (there is no validator offline, so the rules are written out here, one assertion each):
absolute URLs, atom:link rel="self" equal to the URL requested, stable unique tag: ids, RFC 3339
and RFC 822 dates, xml:lang, categories, authors, the lead image, escaped content."""

from __future__ import annotations

import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from tests.publishing_support import add_articles, import_fixture_seeds
from worker.web.app import app

client = TestClient(app)
ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
TAG_URI = re.compile(r"^tag:[a-z0-9.-]+,\d{4}(-\d\d(-\d\d)?)?:\S+$")  # RFC 4151
CATEGORY_PATH = "/feeds/category/" + quote("科技")


def _absolute(url: str | None) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _rfc3339(value: str | None) -> datetime:
    assert value and RFC3339.match(value), value
    return datetime.fromisoformat(value)


def check_atom(body: bytes, requested: str) -> list[str]:
    """Every RFC 4287 MUST the validator checks; returns the entry ids."""
    root = etree.fromstring(body)
    assert root.tag == f"{ATOM}feed"
    assert root.get(XML_LANG) == "zh-CN"
    assert TAG_URI.match(root.findtext(f"{ATOM}id") or "")
    assert (root.findtext(f"{ATOM}title") or "").strip()
    feed_updated = _rfc3339(root.findtext(f"{ATOM}updated"))
    assert root.find(f"{ATOM}author/{ATOM}name") is not None  # covers entries without one
    selfs = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert len(selfs) == 1 and selfs[0].get("href") == requested
    assert selfs[0].get("type") == "application/atom+xml"
    assert all(_absolute(link.get("href")) for link in root.iter(f"{ATOM}link"))
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        entry_id = entry.findtext(f"{ATOM}id") or ""
        assert TAG_URI.match(entry_id), entry_id
        ids.append(entry_id)
        assert (entry.findtext(f"{ATOM}title") or "").strip()
        updated = _rfc3339(entry.findtext(f"{ATOM}updated"))
        assert _rfc3339(entry.findtext(f"{ATOM}published")) <= updated <= feed_updated
        alternate = [lk for lk in entry.findall(f"{ATOM}link") if lk.get("rel") == "alternate"]
        assert len(alternate) == 1 and _absolute(alternate[0].get("href"))
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        assert (content.text or "").lstrip().startswith("<")  # markup travelled as escaped text
        assert all((c.get("term") or "").strip() for c in entry.findall(f"{ATOM}category"))
        assert entry.findall(f"{ATOM}category"), "categories are published"
        assert entry.findtext(f"{ATOM}author/{ATOM}name")
        thumbnail = entry.find(f"{MEDIA}thumbnail")
        # The lead image is optional (the seed post has only its site's QR code); when given, absolute.
        assert thumbnail is None or _absolute(thumbnail.get("url"))
    assert len(ids) == len(set(ids)), "duplicate entry ids"
    return ids


def check_rss(body: bytes, requested: str) -> list[str]:
    """RSS 2.0 (RSS Advisory Board profile); returns the guids."""
    root = etree.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):
        assert (channel.findtext(required) or "").strip(), required
    assert _absolute(channel.findtext("link"))
    assert channel.findtext("language") == "zh-CN"
    parsedate_to_datetime(channel.findtext("lastBuildDate"))
    selfs = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert len(selfs) == 1 and selfs[0].get("href") == requested
    assert selfs[0].get("type") == "application/rss+xml"
    guids = []
    for item in channel.findall("item"):
        assert (item.findtext("title") or "").strip()
        assert _absolute(item.findtext("link"))
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false"
        assert TAG_URI.match(guid.text or "")
        guids.append(guid.text)
        published = parsedate_to_datetime(item.findtext("pubDate"))
        assert published.tzinfo is not None and (item.findtext("pubDate") or "").endswith("GMT")
        assert (item.findtext("description") or "").lstrip().startswith("<")
        assert item.find("author") is None, "RSS <author> must be an e-mail: names go in dc:creator"
        assert item.findtext(f"{DC}creator")
        assert all((c.text or "").strip() for c in item.findall("category")) and item.findall("category")
        thumbnail = item.find(f"{MEDIA}thumbnail")
        # The lead image is optional (the seed post has only its site's QR code); when given, absolute.
        assert thumbnail is None or _absolute(thumbnail.get("url"))
    assert len(guids) == len(set(guids)), "duplicate guids"
    return [g or "" for g in guids]


def check_json(body: bytes, requested: str) -> list[str]:
    feed = json.loads(body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"] == requested and _absolute(feed["home_page_url"])
    assert feed["language"] == "zh-CN"
    ids = []
    for item in feed["items"]:
        assert TAG_URI.match(item["id"]) and _absolute(item["url"])
        _rfc3339(item["date_published"])
        _rfc3339(item["date_modified"])
        assert item["content_html"].startswith("<") and item["authors"][0]["name"] and item["tags"]
        assert "image" not in item or _absolute(item["image"])
        ids.append(item["id"])
    assert len(ids) == len(set(ids))
    return ids


CHECKS = {"atom": check_atom, "rss": check_rss, "json": check_json}


def _fetch_and_check(path: str) -> list[str]:
    fmt = urlsplit(path).path.rsplit(".", 1)[1]
    response = client.get(path)
    assert response.status_code == 200, (path, response.text)
    return CHECKS[fmt](response.content, "http://feedwash.test" + path)


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_every_scope_and_view_follows_the_rules(database_url: str, tmp_path: Path, fmt: str) -> None:
    import_fixture_seeds(tmp_path)
    add_articles("https://news.example.cn/feed.xml", 12)
    paths = [f"/feeds/all.{fmt}", f"{CATEGORY_PATH}.{fmt}", f"/feeds/source/2.{fmt}",
             f"/feeds/all.{fmt}?q=Tom&limit=5", f"/feeds/all.{fmt}?since=2026-03-01T10:00:00%2B00:00",
             f"/feeds/all.{fmt}?page=1", f"/feeds/category/{quote('新浪财经-国內')}.{fmt}"]
    counts = {path: len(_fetch_and_check(path)) for path in paths}
    assert counts == {paths[0]: 14, paths[1]: 12, paths[2]: 12, paths[3]: 5, paths[4]: 10,
                      paths[5]: 14, paths[6]: 2}


def test_ids_are_the_same_across_formats_and_views(sqlite_url: str, tmp_path: Path) -> None:
    import_fixture_seeds(tmp_path)
    atom = _fetch_and_check("/feeds/all.atom")
    assert _fetch_and_check("/feeds/all.rss") == atom
    assert _fetch_and_check("/feeds/all.json") == atom
    assert set(_fetch_and_check(f"/feeds/category/{quote('金融')}.atom")) == set(atom)


def test_content_is_escaped_once(sqlite_url: str) -> None:
    add_articles("https://news.example.cn/feed.xml", 1)
    atom = etree.fromstring(client.get("/feeds/all.atom").content)
    entry = atom.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == "文章 0 & <不是标签>"
    assert entry.findtext(f"{ATOM}content") == "<p>第 0 篇正文：<b>Tom &amp; Jerry</b> &lt;3 的故事。</p>"
    item = json.loads(client.get("/feeds/all.json").content)["items"][0]
    assert item["title"] == "文章 0 & <不是标签>"
