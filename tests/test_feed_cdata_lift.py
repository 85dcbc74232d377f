"""worker.core.xmlfeed.lift_cdata: the fast path takes CDATA content out of libxml2's way and
puts it back. With and without the lift, parse_fast must give the same answer (the same dicts, or
both decline) for every document, including those libxml2 rejects."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from benchmarks.ingest import feed_bytes
from worker.core import xmlfeed
from worker.core.decode import xml_bytes_undecoded
from worker.core.xmlfeed import lift_cdata, parse_fast

DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"


def without_lift(xml: bytes, monkeypatch: pytest.MonkeyPatch) -> Any:
    with monkeypatch.context() as patch:
        patch.setattr(xmlfeed, "lift_cdata", lambda document: (document, {}))
        return parse_fast(xml)


def rss(item_body: bytes, prolog: bytes = b"") -> bytes:
    return (DECLARATION + prolog + b"<rss version='2.0'><channel><title>t</title>"
            b"<item><title>a</title><guid isPermaLink='false'>g</guid>" + item_body
            + b"</item></channel></rss>")


CASES = {
    "plain": rss(b"<description><![CDATA[<p>\xe4\xb8\xad\xe6\x96\x87 &amp; more</p>]]></description>"),
    "crlf and cr": rss(b"<description><![CDATA[a\r\nb\rc\n\r\nd\r]]></description>"),
    "two sections and text": rss(b"<description> x <![CDATA[one]]> y <![CDATA[two]]> z</description>"),
    "comment between": rss(b"<description><![CDATA[one]]><!-- c --><![CDATA[two]]></description>"),
    "empty": rss(b"<description><![CDATA[]]></description>"),
    "brackets at the end": rss(b"<description><![CDATA[a]]]]]></description>"),
    "markup inside": rss(b"<description><![CDATA[<!-- no --> <?no?> <![CDATA[ x ]]></description>"),
    "in a comment": rss(b"<!-- <![CDATA[ --><description>d</description>"),
    "in a pi": rss(b"<?pi <![CDATA[ ?><description>d</description>"),
    "in the title": rss(b"<description>d</description>").replace(b"<title>a</title>",
                                                                 b"<title><![CDATA[ A & B ]]></title>"),
    "author with a name": rss(b"<author><![CDATA[x]]><name>n</name><![CDATA[y]]></author>"),
    "author with tails": rss(b"<author> <![CDATA[x]]><uri>u</uri><![CDATA[\xc3\xa9]]> </author>"),
    "category": rss(b"<category><![CDATA[c1]]></category><category>c2</category>"),
    "control character": rss(b"<description><![CDATA[a\x01b]]></description>"),
    "tab and newline": rss(b"<description><![CDATA[a\tb\nc]]></description>"),
    "nul": rss(b"<description><![CDATA[a\x00b]]></description>"),
    "u+fffe": rss(b"<description><![CDATA[a\xef\xbf\xbeb]]></description>"),
    "u+fffd": rss(b"<description><![CDATA[a\xef\xbf\xbdb]]></description>"),
    "invalid utf-8": rss(b"<description><![CDATA[a\xff\xfeb]]></description>"),
    "surrogate bytes": rss(b"<description><![CDATA[a\xed\xa0\x80b]]></description>"),
    "unterminated": rss(b"<description><![CDATA[never closed</description>"),
    "unterminated comment": rss(b"<!-- <description><![CDATA[x]]></description>"),
    "private use in text": rss(b"<description><![CDATA[\xee\x80\x800\xee\x80\x81]]></description>"),
    "private use elsewhere": rss(b"<description><![CDATA[a]]></description>"
                                 b"<comments>\xee\x80\x80</comments>"),
    "charref": rss(b"<description><![CDATA[a]]></description><comments>&#57344;</comments>"),
    "after the root": rss(b"<description>d</description>") + b"<![CDATA[x]]>",
    "doctype": rss(b"<description><![CDATA[x]]></description>", b"<!DOCTYPE rss>"),
    "markup in a section in text": rss(b"<description>a<![CDATA[<b>]]>c</description>"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lift_changes_nothing(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    xml = CASES[name]
    assert parse_fast(xml) == without_lift(xml, monkeypatch)


def test_the_usual_feed_is_lifted_and_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    xml = xml_bytes_undecoded(feed_bytes(0, 60), None)
    assert xml is not None
    skeleton, lifted = lift_cdata(xml)
    assert len(lifted) == 60 and len(skeleton) < len(xml) // 10
    assert parse_fast(xml) == without_lift(xml, monkeypatch) != None  # noqa: E711


def test_what_libxml2_would_reject_is_left_in_place() -> None:
    for name in ("control character", "nul", "u+fffe", "invalid utf-8", "unterminated", "doctype",
                 "private use in text", "charref"):
        assert lift_cdata(CASES[name]) == (CASES[name], {}), name


# Section content from characters that matter to the lift: line ends, brackets, markup openers,
# controls, the token's own private-use characters, non-ASCII text and invalid bytes.
_PIECES = [b"a", b" ", b"\r", b"\n", b"\r\n", b"\t", b"]", b"]]", b">", b"<", b"<!--", b"-->", b"<?",
           b"?>", b"&amp;", b"\x01", b"\x1f", b"\xe4\xb8\xad", b"\xee\x80\x80", b"\xee\x80\x81", b"0",
           b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\xff", b"\xc3\xa9"]
_content = st.lists(st.sampled_from(_PIECES), max_size=12).map(b"".join)


@given(st.lists(st.tuples(st.sampled_from([b"description", b"link", b"author", b"category", b"comments"]),
                          st.lists(st.one_of(_content.map(lambda c: b"<![CDATA[" + c + b"]]>"),
                                             st.sampled_from([b"t", b" ", b"<!-- c -->"])),
                                   max_size=3)),
                max_size=4))
@example([(b"description", [b"<![CDATA[\r\n]]>", b"<![CDATA[]]]]>"])])
def test_lift_changes_nothing_on_generated_items(elements: list[tuple[bytes, list[bytes]]]) -> None:
    body = b"".join(b"<" + tag + b">" + b"".join(parts) + b"</" + tag + b">" for tag, parts in elements)
    xml = rss(body)
    lifted = parse_fast(xml)
    original = xmlfeed.lift_cdata
    try:
        xmlfeed.lift_cdata = lambda document: (document, {})  # type: ignore[assignment]
        assert lifted == parse_fast(xml)
    finally:
        xmlfeed.lift_cdata = original
