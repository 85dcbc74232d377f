"""worker.core.decode + parse_feed: encodings, JSON Feed, XML entity safety, corpus robustness."""

from __future__ import annotations

import json
import re
import resource
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import SHARED
from worker.core.decode import decode_document, strip_internal_subset, xml_for_parser
from worker.core.feed import parse_feed
from worker.core.types import InputError

CORPUS = SHARED / "corpus" / "feedparser_tests"


def rss(title: str, item_title: str, declaration: str | None) -> str:
    prolog = f'<?xml version="1.0" encoding="{declaration}"?>\n' if declaration else ""
    return (f"{prolog}<rss version=\"2.0\"><channel><title>{title}</title><link>https://example.org/</link>"
            f"<item><title>{item_title}</title><guid>1</guid><link>https://example.org/1</link>"
            "<description>&lt;p&gt;body&lt;/p&gt;</description></item></channel></rss>")


@pytest.mark.parametrize(("codec", "label", "title", "item_title"), [
    ("gbk", "gbk", "新浪财经 国内", "北京市多措并举推动消费帮扶工作取得新成效"),
    ("gbk", "gb2312", "新浪财经", "消费帮扶：农产品展示展销"),  # GBK bytes labelled GB2312
    ("gb18030", "GB2312", "新闻", "𠀀 鿿 扩展汉字"),  # beyond GBK: only GB18030 has these
    ("big5", "big5", "中央社 即時新聞", "臺灣新聞標題測試，繁體中文"),
    ("shift_jis", "Shift_JIS", "日本語フィード", "東京の天気は晴れです"),
    ("cp1252", "windows-1252", "Café “quotes”", "naïve – résumé €5"),
    ("cp1252", "iso-8859-1", "Café “smart”", "déjà vu"),  # browsers read Latin-1 as 1252
])
def test_declared_encodings_decode(codec: str, label: str, title: str, item_title: str) -> None:
    data = rss(title, item_title, label).encode(codec)
    feed = parse_feed(data, "https://example.org/feed", {"Content-Type": "application/rss+xml"})
    assert feed.title == title
    assert [e.title for e in feed.entries] == [item_title]


@pytest.mark.parametrize(("codec", "label"), [("gbk", "gbk"), ("big5", "big5"), ("shift_jis", "shift_jis")])
def test_charset_in_http_header_without_xml_declaration(codec: str, label: str) -> None:
    title = {"gbk": "简体中文标题", "big5": "繁體中文標題", "shift_jis": "日本語のタイトル"}[codec]
    data = rss("feed", title, None).encode(codec)
    feed = parse_feed(data, "https://example.org/feed", {"content-type": f"text/xml; charset={label}"})
    assert feed.entries[0].title == title


def test_lying_charset_header_decodes_by_the_declaration_that_works() -> None:
    data = rss("新浪财经", "北京市多措并举推动消费帮扶工作取得新成效", "gb2312").encode("gbk")
    decoded = decode_document(data, "application/rss+xml; charset=utf-8")
    assert (decoded.encoding, decoded.evidence) == ("gb18030", "xml")
    assert decoded.warnings == ("HTTP Content-Type charset 'utf-8' does not decode the document",)
    lying = {"content-type": "application/rss+xml; charset=utf-8"}
    feed = parse_feed(data, "https://example.org/feed", lying)
    assert feed.entries[0].title == "北京市多措并举推动消费帮扶工作取得新成效"
    assert "HTTP Content-Type charset 'utf-8' does not decode the document" in feed.warnings


def test_latin1_header_over_utf8_bytes_reads_utf8() -> None:
    data = rss("Über", "Zürich – ünïcödé", "utf-8").encode("utf-8")
    feed = parse_feed(data, "https://example.org/feed", {"content-type": "text/xml; charset=ISO-8859-1"})
    assert feed.entries[0].title == "Zürich – ünïcödé"


def test_bom_wins_and_undeclared_utf16_is_sniffed() -> None:
    text = rss("标题", "条目", None)
    with_bom = b"\xef\xbb\xbf" + text.encode("utf-8")
    assert decode_document(with_bom, "text/xml; charset=gbk").text == text
    assert decode_document(text.encode("utf-16-le"), None).text == text
    assert decode_document(b"\xff\xfe" + text.encode("utf-16-le"), None).evidence == "bom"


def test_undeclared_gbk_is_detected() -> None:
    body = "北京市多措并举推动消费帮扶工作取得新成效，农产品展示展销活动在京举行，市民踊跃参与。" * 3
    decoded = decode_document(rss("新浪财经", body, None).encode("gbk"), "application/xml")
    assert (decoded.encoding, decoded.evidence) == ("gb18030", "detected")
    assert body in decoded.text


def test_parser_input_declares_utf8() -> None:
    data = xml_for_parser(rss("标题", "条目", "gb2312"))
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<rss")
    assert "条目".encode() in data


def test_json_feed_1_1_and_1_0() -> None:
    v11 = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON 新闻",
           "home_page_url": "https://example.org/",
           "items": [{"id": "a-1", "url": "/posts/1", "title": "第一条", "content_html": "<p>你好</p>",
                      "date_published": "2026-01-02T03:04:05+08:00", "authors": [{"name": "编辑"}],
                      "tags": ["科技", "科技", "AI"], "image": "/img/1.jpg"},
                     {"id": 2, "content_text": "plain <text>\n\nsecond paragraph",
                      "date_modified": "2026-01-03T00:00:00Z"}]}
    feed = parse_feed(json.dumps(v11, ensure_ascii=False).encode(), "https://example.org/feed.json",
                      {"content-type": "application/feed+json"})
    assert (feed.title, feed.link, feed.warnings) == ("JSON 新闻", "https://example.org/", ())
    first, second = feed.entries
    assert (first.entry_key, first.title, first.link) == ("id:a-1", "第一条", "https://example.org/posts/1")
    assert (first.html, first.author, first.categories) == ("<p>你好</p>", "编辑", ("科技", "AI"))
    assert first.published is not None and first.published.isoformat() == "2026-01-02T03:04:05+08:00"
    assert first.lead_image == "https://example.org/img/1.jpg"
    assert second.entry_key == "id:2"
    assert second.html == "<p>plain &lt;text&gt;</p><p>second paragraph</p>"
    assert second.updated is not None and second.updated.isoformat() == "2026-01-03T00:00:00+00:00"
    v10 = {"version": "https://jsonfeed.org/version/1", "title": "Old", "items": [
        {"id": "x", "title": "t", "content_text": "c", "author": {"name": "me"}}]}
    assert parse_feed(json.dumps(v10).encode(), "https://example.org/f.json").entries[0].author == "me"


@pytest.mark.parametrize("data", [b"{not json", b'{"version": "x"}', b"[1, 2]", b"   "])
def test_json_that_is_not_a_feed_is_an_input_error(data: bytes) -> None:
    with pytest.raises(InputError, match=re.escape("https://example.org/f.json: not a feed")):
        parse_feed(data, "https://example.org/f.json")


def test_html_page_is_not_a_feed() -> None:
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</p></body></html>"
    with pytest.raises(InputError, match=re.escape("https://example.org/: not a feed")):
        parse_feed(page, "https://example.org/", {"content-type": "text/html; charset=utf-8"})


def test_bozo_feed_with_entries_keeps_them_with_a_warning() -> None:
    data = rss("t", "truncated", "utf-8").removesuffix("</channel></rss>").encode()
    feed = parse_feed(data, "https://example.org/feed")
    assert [e.title for e in feed.entries] == ["truncated"]
    assert feed.warnings and "SAXParseException" in feed.warnings[0]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
 <!ENTITY quote "a ]> inside a value">
]>
<rss version="2.0"><channel><title>laughs &lol9;</title>
<item><title>item &lol9; &lol;</title><guid>1</guid><description>x &lol9;</description></item>
</channel></rss>"""


def test_billion_laughs_expands_nothing() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    feed = parse_feed(BILLION_LAUGHS.encode(), "https://example.org/laughs")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50_000  # a single expansion of &lol9; alone would be 3 GB
    (entry,) = feed.entries
    assert "lolllol" not in entry.title and len(entry.title) < 40
    assert len(entry.html) < 40 and len(feed.title) < 40


def test_internal_subset_is_removed_external_id_kept() -> None:
    assert strip_internal_subset(BILLION_LAUGHS).startswith('<?xml version="1.0"?>\n<!DOCTYPE rss>\n<rss')
    netscape = ('<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                '"http://my.netscape.com/publish/formats/rss-0.91.dtd" [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                '<rss version="0.91"><channel><title>n</title></channel></rss>')
    assert strip_internal_subset(netscape) == (
        '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
        '<title>n</title></channel></rss>')


def test_xxe_reads_no_file_and_makes_no_request(httpserver: HTTPServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    httpserver.expect_request("/steal").respond_with_data("STOLEN-OVER-HTTP")
    httpserver.expect_request("/evil.dtd").respond_with_data('<!ENTITY dtd "FROM-DTD">')
    xxe = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY file SYSTEM "file://{secret}">\n'
           f' <!ENTITY web SYSTEM "{httpserver.url_for("/steal")}">\n'
           f' <!ENTITY % dtd SYSTEM "{httpserver.url_for("/evil.dtd")}"> %dtd;\n]>\n'
           '<rss version="2.0"><channel><title>x &file; &web;</title>'
           '<item><title>t &file; &web; &dtd;</title><guid>1</guid></item></channel></rss>')
    external_dtd = (f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{httpserver.url_for("/evil.dtd")}">'
                    '<rss version="2.0"><channel><title>d</title><item><title>&dtd;</title><guid>2</guid>'
                    '</item></channel></rss>')
    for document in (xxe, external_dtd):
        feed = parse_feed(document.encode(), "https://example.org/xxe")
        rendered = repr(feed)
        assert "TOP-SECRET-VALUE" not in rendered
        assert "STOLEN-OVER-HTTP" not in rendered and "FROM-DTD" not in rendered
        assert len(feed.entries) == 1
    assert httpserver.log == []


def test_corpus_files_parse_or_raise_input_error() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} is absent (a user's clone has no ../shared): corpus robustness not run")
    files = [f for sub in ("encoding", "illformed") for f in sorted((CORPUS / sub).iterdir()) if f.is_file()]
    assert len(files) >= 90
    outcomes = {"parsed": 0, "input-error": 0}
    for path in files:
        try:
            parse_feed(path.read_bytes(), f"https://example.org/{path.name}")
            outcomes["parsed"] += 1
        except InputError as exc:
            assert path.name in str(exc)
            outcomes["input-error"] += 1
    assert outcomes["parsed"] >= 80
    example = parse_feed((CORPUS / "json" / "example.json").read_bytes(), "https://example.org/feed.json")
    assert (example.title, len(example.entries)) == ("My Example Feed", 2)  # its own Expect line
