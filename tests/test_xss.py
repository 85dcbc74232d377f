"""XSS in the spirit of the OWASP filter-evasion cheat sheet, through clean_entry and through the
whole pipeline (seed import -> storage -> the served Atom, RSS and JSON feeds)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser
import pytest

from tests.active_content import active_content
from tests.conftest import ROOT
from worker import ingest
from worker.config import load_rules
from worker.core.pipeline import clean_entry
from worker.core.types import ParsedEntry
from worker.publish import build_feed
from worker.settings import get_settings
from worker.storage.db import transaction

VECTORS = {
    "script": "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "img javascript": '<IMG SRC="javascript:alert(\'XSS\');">',
    "mixed case": "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "decimal entities": "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)>",
    "hex entities": '<a href="&#x6A;avascript:alert(1)">hex</a>',
    "padded entities": "<a href=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
                       "&#0000105&#0000112&#0000116&#0000058alert(1)>padded</a>",
    "embedded tab": '<a href="jav\tascript:alert(1);">tab</a>',
    "encoded tab": '<a href="jav&#x09;ascript:alert(1);">enc tab</a>',
    "newline": '<a href="jav&#x0A;ascript:alert(1);">newline</a>',
    "leading space": '<a href=" &#14;  javascript:alert(1);">space</a>',
    "vbscript": '<a href="vbscript:msgbox(1)">vb</a>',
    "data html link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    "data svg image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "svg onload": "<svg/onload=alert(1)>",
    "svg script": '<svg><script xlink:href="data:,alert(1)"></script>'
                  '<a xlink:href="javascript:x">s</a></svg>',
    "mathml": '<math><mi xlink:href="javascript:alert(1)">m</mi>'
              '<maction actiontype="statusline">x</maction></math>',
    "meta refresh": '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(1);">',
    "css url": '<div style="background-image: url(javascript:alert(1))">css</div>',
    "css expression": '<p style="width: expression(alert(1));">expr</p>',
    "style tag import": "<STYLE>@import'https://xss.example/xss.css';</STYLE>",
    "broken tag": '<<SCRIPT>alert("XSS");//<</SCRIPT>',
    "unclosed": '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "no quotes no semicolon": "<IMG SRC=javascript:alert('XSS')",
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "iframe javascript": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe evil host": '<iframe src="https://evil.example/"></iframe>',
    "base href": '<base href="javascript:alert(1)//">',
    "form action": '<form action="javascript:alert(1)"><input type=submit formaction="javascript:x"></form>',
    "object": '<object data="javascript:alert(1)"></object><embed src="https://xss.example/x.swf">',
    "body onload": "<BODY ONLOAD=alert('XSS')>",
    "table background": '<TABLE BACKGROUND="javascript:alert(1)"><tr><td>t</td></tr></TABLE>',
    "comment trick": "<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->",
    "noscript breakout": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "textarea breakout": "<textarea><script>alert(1)</script></textarea>",
    "link stylesheet": '<LINK REL="stylesheet" HREF="javascript:alert(1);">',
    "details ontoggle": "<details open ontoggle=alert(1)>d</details>",
}
SAFE_TEXT = "正文保留：这一段是文章内容。"


def _entry(body: str) -> ParsedEntry:
    return ParsedEntry(entry_key="xss", title="xss", html=f"<p>{SAFE_TEXT}</p>{body}",
                       link="https://news.example/a/1", base_url="https://news.example/a/1")


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vector_through_clean_entry(name: str) -> None:
    article = clean_entry(_entry(VECTORS[name]), load_rules(ROOT / "config" / "rules"))
    assert active_content(article.html) == [], article.html
    assert SAFE_TEXT in article.text
    lowered = article.html.lower()
    # Script-ish URLs may survive only as inert relative paths the sanitiser percent-encoded
    # (`jav%09ascript:`), never as a scheme.
    assert not re.search(r'(href|src|action|background)="\s*(javascript|vbscript|data:text)', lowered)
    assert "<a " not in lowered or 'rel="noopener noreferrer"' in lowered


def test_links_get_noopener_and_lose_tracking() -> None:
    html = '<a href="https://e.example/x?utm_medium=rss&id=2&fbclid=abc">x</a>'
    article = clean_entry(_entry(html), ())
    assert '<a href="https://e.example/x?id=2" rel="noopener noreferrer">x</a>' in article.html


def test_every_vector_through_the_served_feeds(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for index, (name, body) in enumerate(sorted(VECTORS.items())):
        front = f"---\ntitle: 'XSS {index} {name}'\ndate: 2024-01-0{1 + index % 9} 10:00:00\n---\n"
        (folder / f"{index:02d}.md").write_text(f"{front}<p>{SAFE_TEXT} {index}</p>{body}\n", "utf-8")
    report = ingest.import_seeds(folder)
    assert report.errors == [] and report.imported == len(VECTORS)
    settings = get_settings()
    with transaction() as session:
        feeds = {fmt: build_feed(session, settings, fmt, limit=100) for fmt in ("atom", "rss", "json")}
    for fmt in ("atom", "rss"):
        parsed = feedparser.parse(feeds[fmt], sanitize_html=False)
        assert len(parsed.entries) == len(VECTORS)
        for entry in parsed.entries:
            html = entry.content[0].value if fmt == "atom" else entry.description
            assert active_content(html) == [], (fmt, entry.title, html)
            assert SAFE_TEXT in html
    items = json.loads(feeds["json"])["items"]
    assert len(items) == len(VECTORS)
    for item in items:
        assert active_content(item["content_html"]) == [], (item["title"], item["content_html"])
    for raw in feeds.values():  # and no live markup in the documents themselves
        lowered = raw.decode("utf-8").lower()
        assert "<script" not in lowered and "<iframe" not in lowered and "<svg" not in lowered


def test_an_untitled_item_is_not_titled_by_its_unsafe_link() -> None:
    """An item without a title is titled by its link, but only by a web link: the link itself is
    dropped as unsafe, so a `javascript:` title was the only trace of it on the page and in every
    served feed (found by an audit in session 5)."""
    from worker.core.feed import parse_feed
    from worker.core.jsonfeed import parse_json_feed

    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://x.example/</link>'
           b'<description>d</description>'
           b'<item><title></title><link>javascript:alert(4)</link><guid>a</guid><description>x</description></item>'
           b'<item><link>https://x.example/2</link><guid>b</guid><description>y</description></item>'
           b'</channel></rss>')
    assert [e.title for e in parse_feed(rss, "https://x.example/feed").entries] == [
        "(untitled)", "https://x.example/2"]
    items = [{"id": "a", "url": "javascript:alert(4)", "content_html": "x"},
             {"id": "b", "url": "https://x.example/2", "content_html": "y"}]
    feed = parse_json_feed(json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "t",
                                       "items": items}), "https://x.example/feed.json")
    assert [e.title for e in feed.entries] == ["(untitled)", "https://x.example/2"]
