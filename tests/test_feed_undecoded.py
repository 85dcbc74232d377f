"""parse_feed's first try, the fast path on the undecoded bytes (decode.xml_bytes_undecoded),
gives what the decoding path gives: for valid UTF-8 the same bytes reach parse_fast, and bytes
that are not UTF-8 are rejected by libxml2, so decode_document still decides their encoding."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from benchmarks.ingest import feed_bytes
from worker.core import decode, feed
from worker.core.types import InputError

FIXTURE_FEEDS = Path(__file__).parent / "fixtures" / "feeds"

# Not UTF-8: stray continuation bytes, overlong forms, surrogates, past U+10FFFF, cut sequences.
_NOT_UTF8 = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
             b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
             b"\xf5\x80\x80\x80", b"\xff", b"\xfe", b"\xe4\xb8", b"\xc3", b"\xe4\xb8A", b"\xc3(",
             b"\xed\xa0\x80\xed\xb0\x80",
             "中文".encode("gb18030"), "é".encode("cp1252")]
_SPOTS = [
    b"<rss version='2.0'><channel><title>a%sb</title><item><title>t</title></item></channel></rss>",
    b"<rss version='2.0'><channel><item><description><![CDATA[x%sy]]></description></item></channel></rss>",
    b"<rss version='2.0'><channel><item><link>https://a.test/%s</link></item></channel></rss>",
    b"<rss version='2.0'><channel><item><enclosure url='a%sb' type='image/png'/></item></channel></rss>",
    b"<rss version='2.0'><channel><!-- c%sc --><item><title>t</title></item></channel></rss>",
    b"<rss version='2.0'><channel><?pi x%sy?><item><title>t</title></item></channel></rss>",
    b"<rss version='2.0'><channel><item><title>t</title></item></channel></rss><!-- %s -->",
    b"<rss version='2.0'><channel><item><title>t</title></item></channel></rss>\n%s",
    b"<rss version='2.0'><channel><item><title>t</title></item>\n%s\n</channel></rss>",
]
_DECLARATIONS = [b'<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0"?>',
                 b"<?xml version='1.0' encoding='utf8' standalone='yes'?>",
                 b'<?xml version="1.0" encoding="gbk"?>']
_CONTENT_TYPES = [None, "application/rss+xml; charset=utf-8", "text/xml", "text/xml; charset=ISO-8859-1"]


def _decoding_path(data: bytes, headers: dict[str, str]) -> object:
    saved = feed.xml_bytes_undecoded
    feed.xml_bytes_undecoded = lambda *_: None  # type: ignore[assignment]
    try:
        return _outcome(data, headers)
    finally:
        feed.xml_bytes_undecoded = saved


def _outcome(data: bytes, headers: dict[str, str]) -> object:
    try:
        return feed.parse_feed(data, "https://a.test/feed.xml", headers)
    except InputError as error:
        return ("InputError", str(error))


def _same_as_decoding(data: bytes, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert _outcome(data, headers) == _decoding_path(data, headers)


@pytest.mark.parametrize("declaration", _DECLARATIONS)
@pytest.mark.parametrize("content_type", _CONTENT_TYPES)
def test_bytes_that_are_not_utf8_are_decoded_as_before(declaration: bytes, content_type: str | None) -> None:
    for spot in _SPOTS:
        _same_as_decoding(declaration + spot.replace(b"%s", b"ok \xe4\xb8\xad"), content_type)
        for bad in _NOT_UTF8:
            _same_as_decoding(declaration + spot.replace(b"%s", bad), content_type)


def test_feeds_are_parsed_as_before() -> None:
    documents = [feed_bytes(0, 20)] + [path.read_bytes() for path in sorted(FIXTURE_FEEDS.iterdir())]
    for data in documents:
        for content_type in _CONTENT_TYPES:
            _same_as_decoding(data, content_type)
    assert decode.xml_bytes_undecoded(feed_bytes(0, 3), None) is not None  # the benchmark's feeds take it


@given(st.sampled_from(_SPOTS), st.binary(max_size=8), st.sampled_from(_DECLARATIONS),
       st.sampled_from(_CONTENT_TYPES))
@example(_SPOTS[0], b"&#xD800;", _DECLARATIONS[0], None)  # a character reference: decoded first
@example(_SPOTS[0], "\u3000".encode(), b"\xef\xbb\xbf" + _DECLARATIONS[0], None)  # a byte-order mark
def test_any_bytes(spot: bytes, inserted: bytes, declaration: bytes, content_type: str | None) -> None:
    _same_as_decoding(declaration + spot.replace(b"%s", inserted), content_type)
