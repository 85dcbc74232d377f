"""worker.core.xmlfeed (the lxml fast path of parse_feed) against feedparser, the authority.

Every feed below goes through parse_feed twice, with and without the fast path: the fast path
must either decline (return None, so feedparser decides) or give an identical ParsedFeed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest

from tests.conftest import SHARED
from worker.core.decode import decode_document, looks_like_json, xml_bytes_for_parser, xml_for_parser
from worker.core.feed import _valid_charrefs, parse_feed
from worker.core.types import InputError, ParsedFeed
from worker.core.xmlfeed import finish_text, parse_fast

CORPUS = SHARED / "corpus" / "feedparser_tests"
FIXTURE_FEEDS = Path(__file__).parent / "fixtures" / "feeds"
_HEADER_LINE = re.compile(r"^Header:\s*([^:]+):\s*(.*)$", re.MULTILINE)


def _headers_of(data: bytes) -> dict[str, str]:
    """feedparser's test files give their HTTP headers in a leading comment ("Header: ...")."""
    return {k.strip(): v.strip() for k, v in _HEADER_LINE.findall(data[:3000].decode("utf-8", "replace"))}


def fast_accepts(data: bytes, headers: dict[str, str]) -> bool:
    """Whether parse_feed's fast path answers for this document (the same steps parse_feed takes)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    document = decode_document(data, lowered.get("content-type"))
    if looks_like_json(document.text):
        return False
    text = _valid_charrefs(document.text)
    xml = xml_bytes_for_parser(data, document, text)
    assert xml == xml_for_parser(text)  # the no-copy shortcut gives feedparser's very bytes
    return parse_fast(xml, lowered.get("content-location", "")) is not None


def both_paths(data: bytes, url: str, headers: dict[str, str]) -> tuple[bool, object, object]:
    """(fast path accepted, parse_feed result, feedparser-only result); InputError as a value."""
    def run(fast_path: bool) -> object:
        try:
            return parse_feed(data, url, headers, fast_path=fast_path)
        except InputError as error:
            return ("InputError", str(error))
    return fast_accepts(data, headers), run(True), run(False)


def test_feedparser_corpus_fast_path_declines_or_agrees() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (a user's clone has no ../shared): corpus differential not run")
    files = sorted(p for p in CORPUS.rglob("*.xml") if p.is_file())
    assert len(files) >= 2000
    accepted = 0
    accepted_with_base = 0
    disagreements: list[str] = []
    for path in files:
        data = path.read_bytes()
        url = f"https://example.org/{path.parent.name}/{path.name}"
        # The file's own headers, then a Content-Location (feedparser's starting xml:base).
        for pass_no, headers in enumerate((_headers_of(data),
                                           {"Content-Location": "http://cl.example.org/base/feed.xml"})):
            took, fast, slow = both_paths(data, url, headers)
            if not took:
                assert fast == slow  # declined: parse_feed is feedparser's answer, unchanged
                continue
            if pass_no == 0:
                accepted += 1
            else:
                accepted_with_base += 1
            if fast != slow:
                disagreements.append(f"{path.relative_to(CORPUS)} {headers}")
    print(f"\nfast path accepted {accepted} of {len(files)} corpus files "
          f"({accepted_with_base} with a Content-Location base)")
    assert disagreements == []
    assert accepted >= 700  # it must not quietly decline everything (was 779 when written)


def test_fixture_feeds_take_the_fast_path_and_agree() -> None:
    paths = sorted(FIXTURE_FEEDS.iterdir())
    assert paths
    for path in paths:
        data = path.read_bytes()
        for body in (b"SEED_BODY", "<p>\u3000\u3000正文 &amp; 图片 <img src='/a.jpg'></p>".encode()):
            variant = data.replace(b"SEED_BODY", body)
            took, fast, slow = both_paths(variant, "https://example.org/feed", {})
            assert took, path.name
            assert fast == slow
            assert isinstance(fast, ParsedFeed) and fast.entries


@pytest.fixture(scope="module")
def bench_feed_bytes() -> Callable[..., bytes]:
    """benchmarks.ingest.feed_bytes; the module points FEEDWASH_* at a scratch folder on import,
    which must not leak into the other tests."""
    saved = dict(os.environ)
    try:
        from benchmarks.ingest import feed_bytes
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return feed_bytes


def test_benchmark_feeds_take_the_fast_path_and_agree(bench_feed_bytes: Callable[..., bytes]) -> None:
    for feed_no, items in ((0, 1), (1, 7), (2, 40)):
        data = bench_feed_bytes(feed_no, items)
        took, fast, slow = both_paths(data, "https://rsshub.bench.invalid/sina/finance", {})
        assert took
        assert fast == slow
        assert isinstance(fast, ParsedFeed) and len(fast.entries) == items
        entry = fast.entries[0]
        assert entry.entry_key.startswith("id:sina-ik")
        assert entry.categories == ("金融", "新浪财经", "新浪财经－国內")
        assert entry.author == "新浪财经"
        assert entry.link is not None and "utm_source=rss&from=feed" in entry.link


def test_the_benchmark_feed_never_reaches_feedparser(
    bench_feed_bytes: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The common case takes the fast path (its speed is in benchmarks/ingest.py, not here)."""
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("feedparser.parse called for a feed the fast path models")
    monkeypatch.setattr(feedparser, "parse", refuse)
    parsed = parse_feed(bench_feed_bytes(3, 60), "https://rsshub.bench.invalid/sina/finance")
    assert len(parsed.entries) == 60


# ---- what the fast path models, value by value ------------------------------------------------

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
     xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title> Site &amp; Co </title><link>https://example.org/news/</link><ttl>30</ttl>
<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
<atom:link rel="self" href="https://example.org/feed.xml" type="application/rss+xml"/>
<image><url>https://example.org/logo.png</url><title>logo</title><link>https://example.org/</link></image>
ITEMS
</channel></rss>"""


def rss(items: str) -> bytes:
    return RSS.replace("ITEMS", items).encode()


def agree(data: bytes, url: str = "https://example.org/feed.xml") -> ParsedFeed:
    took, fast, slow = both_paths(data, url, {})
    assert took, "the fast path declined"
    assert fast == slow
    assert isinstance(fast, ParsedFeed)
    return fast


def test_rss_item_fields() -> None:
    feed = agree(rss("""
<item><title>  A &lt;b&gt;title&lt;/b&gt;  </title><link>/a/1?x=1&amp;amp;y=2</link>
<guid>https://example.org/guid/1</guid><pubDate>Sat, 01 Jun 2024 12:00:00 GMT</pubDate>
<dc:creator>Jane</dc:creator><category domain="https://example.org/cat">News</category><category>News</category>
<description>&lt;p&gt;short&lt;/p&gt;</description>
<content:encoded><![CDATA[<p>full body</p>]]></content:encoded>
<media:thumbnail url="https://img.example.org/t.jpg"/><slash:comments>3</slash:comments>
<atom:link rel="canonical" href="https://example.org/canonical/1"/></item>
<item><title>second</title><guid isPermaLink="false">tag-2</guid>
<enclosure url="https://img.example.org/2.png" type="IMAGE/PNG" length="1"/></item>
<item><guid isPermaLink="false"></guid><link>https://example.org/3</link><description>three</description>
<media:content url="https://img.example.org/3.jpg" medium="image"><media:thumbnail url="https://img.example.org/3t.jpg"/></media:content></item>
"""))
    assert (feed.title, feed.link, feed.ttl_minutes, feed.update_period_minutes) == (
        "Site & Co", "https://example.org/news/", 30, 30.0)
    first, second, third = feed.entries
    assert first.title == "A <b>title</b>"
    assert first.link == "https://example.org/a/1?x=1&y=2"  # &amp;amp; undone twice, as feedparser does
    assert first.entry_key == "id:https://example.org/guid/1"
    assert (first.author, first.categories, first.html) == ("Jane", ("News",), "<p>full body</p>")
    assert first.published is not None and first.published.isoformat() == "2024-06-01T12:00:00+00:00"
    assert (first.lead_image, first.canonical_link) == ("https://img.example.org/t.jpg",
                                                         "https://example.org/canonical/1")
    assert (second.entry_key, second.link, second.lead_image) == ("id:tag-2", None, "https://img.example.org/2.png")
    assert (third.entry_key, third.html, third.lead_image) == ("link:https://example.org/3", "three",
                                                               "https://img.example.org/3t.jpg")


def test_guid_without_ispermalink_is_the_link() -> None:
    entry = agree(rss("<item><title>t</title><guid>/posts/9</guid></item>")).entries[0]
    assert (entry.link, entry.entry_key) == ("https://example.org/posts/9", "id:/posts/9")


def test_mojibake_and_c1_repairs_match_feedparser() -> None:
    assert finish_text(" caf\u00c3\u00a9 ") == "café"  # UTF-8 read as Latin-1, undone
    assert finish_text("don\x92t") == "don\u2019t"  # C1 control read as windows-1252
    feed = agree(rss("<item><title>caf&#xC3;&#xA9;</title><guid>1</guid></item>"
                     "<item><title>don&#x92;t</title><guid>2</guid></item>"
                     "<item><title>caf&#xC3;&#xA9; don&#x92;t</title><guid>3</guid></item>"))
    # the third is not valid UTF-8 as Latin-1 bytes, so only its C1 character changes
    assert [e.title for e in feed.entries] == ["café", "don\u2019t", "caf\u00c3\u00a9 don\u2019t"]


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.org/" xml:lang="en">
<title type="text">Blog</title><id>urn:uuid:feed</id><updated>2024-06-02T10:00:00Z</updated>
<link rel="alternate" type="text/html" href="/"/><link rel="self" href="/atom.xml"/>
ENTRIES
</feed>"""


def test_atom_entry_fields_and_xml_base() -> None:
    feed = agree(ATOM.replace("ENTRIES", """
<entry xml:base="/2024/"><title type="html">A &amp;lt;i&amp;gt;post</title><id>tag:example.org,2024:1</id>
<link href="post-1.html"/><link rel="enclosure" type="image/jpeg" href="img/1.jpg"/>
<published>2024-06-01T08:00:00+02:00</published><updated>2024-06-01T09:00:00Z</updated>
<author><name>Ann</name><email>ann@example.org</email></author><category term="go" label="Go"/>
<summary type="text">sum</summary>
<content type="html" xml:base="/assets/">&lt;p&gt;body&lt;/p&gt;</content></entry>
<entry><title>two</title><id>urn:uuid:2</id><content type="text">plain</content></entry>
""").encode())
    assert (feed.title, feed.link) == ("Blog", "https://blog.example.org/")
    first, second = feed.entries
    assert first.title == "A &lt;i&gt;post"
    assert first.link == "https://blog.example.org/2024/post-1.html"
    assert first.lead_image == "https://blog.example.org/2024/img/1.jpg"
    assert (first.author, first.categories) == ("Ann (ann@example.org)", ("go",))
    assert (first.html, first.base_url) == ("<p>body</p>", "https://blog.example.org/assets/")
    assert first.updated is not None and first.published is not None and first.published < first.updated
    # No alternate link: feedparser makes the id the link.
    assert (second.link, second.html, second.entry_key) == ("urn:uuid:2", "plain", "id:urn:uuid:2")


# ---- what the fast path leaves to feedparser ------------------------------------------------

DECLINED = {
    "not well-formed": rss("<item><title>a & b</title></item>"),
    "undefined entity": rss("<item><title>caf&eacute;</title></item>"),
    "DOCTYPE": b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
               b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
               b"<title>t</title><item><title>x</title></item></channel></rss>",
    "RSS 0.92": rss("<item><title>x</title></item>").replace(b'version="2.0"', b'version="0.92"'),
    "RSS without version": rss("<item><title>x</title></item>").replace(b' version="2.0"', b""),
    "RSS 1.0 (RDF)": b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                     b'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://e.org/"><title>t</title>'
                     b'</channel><item rdf:about="https://e.org/1"><title>x</title></item></rdf:RDF>',
    "Atom 0.3": b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title>'
                b"<entry><title>x</title></entry></feed>",
    "Atom xhtml content": ATOM.replace("ENTRIES", '<entry><title>x</title><id>1</id><content type="xhtml">'
                                       '<div xmlns="http://www.w3.org/1999/xhtml"><p>hi</p></div>'
                                       "</content></entry>").encode(),
    "Atom base64 content": ATOM.replace("ENTRIES", '<entry><id>1</id><content type="image/png">aGk=</content>'
                                        "</entry>").encode(),
    "second title": rss("<item><title>x</title><title>y</title></item>"),
    "media:title": rss("<item><media:title>m</media:title><title>x</title></item>"),
    "dc:title": rss("<item><dc:title>d</dc:title></item>"),
    "markup in a description": rss("<item><title>x</title><description><p>raw</p></description></item>"),
    "second summary": rss("<item><description>a</description><description>b</description></item>"),
    "two authors": rss("<item><author>a@example.org</author><dc:creator>B</dc:creator></item>"),
    "image in an item": rss("<item><title>x</title><image><title>i</title></image></item>"),
    "namespaced attribute": rss('<item><title>x</title>'
                                '<enclosure xmlns:f="urn:f" f:url="u" url="v"/></item>'),
    "CDF item href": rss('<item href="https://example.org/1"><title>x</title></item>'),
    "guid in the channel": rss("<guid>g</guid><item><title>x</title></item>"),
    "itunes keywords": rss('<item xmlns:itunes="http://www.itunes.com/DTDs/PodCast-1.0.dtd"><title>x</title>'
                           "<itunes:keywords>a, b</itunes:keywords></item>"),
    "unknown element named like a key": rss("<item><title>x</title>"
                                            "<foo><date_parsed>1</date_parsed></foo></item>"),
}


@pytest.mark.parametrize("case", sorted(DECLINED))
def test_fast_path_declines_and_feedparser_answers(case: str) -> None:
    data = DECLINED[case]
    took, fast, slow = both_paths(data, "https://example.org/feed.xml", {})
    assert not took
    assert fast == slow  # parse_feed is feedparser's answer, warnings included


def test_declined_malformed_feed_keeps_feedparser_warning() -> None:
    feed = parse_feed(DECLINED["not well-formed"], "https://example.org/feed.xml")
    assert feed.warnings and "SAXParseException" in feed.warnings[-1]
    assert [e.title for e in feed.entries] == ["a & b"]
