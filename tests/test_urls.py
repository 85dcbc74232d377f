"""worker.core.urls: the plain-URL path gives urllib's answers."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from worker.core.urls import host, join_url, strip_tracking, strip_tracking_by_urllib, web_url


# The functions as first written, all through urllib.
def _urllib_web_url(url: str | None) -> str | None:
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _urllib_host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _outcome(fn, url: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return fn(url)
    except ValueError as exc:
        return ("ValueError", str(exc))


_SCHEMES = st.sampled_from(["http://", "https://", "HTTPS://", "Http://", "//", "ftp://", "javascript:",
                            "data:", "", " https://", "\thttp://", "https:", "https:///", "http:/"])
_HOST_CHARS = st.sampled_from([*"abZ09.-_@:%[]中ü \t\n~+", "example.org", "Sub.Example.ORG", "[::1]",
                               "user:pw@", ":8080", "picsum.photos"])
_PATH_CHARS = st.sampled_from([*"/ab.?#;=&%+ ~中\t", "/a/b.html", "//", "#frag", "?"])
_NAMES = st.sampled_from(["utm_source", "UTM_Medium", "from", "spm", "pk_x", "a", "id", "", "utm%5Fsource",
                          "a+b", "utm_source=x", "ref", "x-y.z~"])
_VALUES = st.sampled_from(["", "rss", "1", "a b", "a+b", "%41", "=", "中", "x~y.z-1_2", "#", "?"])
_QUERY = st.lists(st.tuples(_NAMES, st.sampled_from(["=", "", "=="]), _VALUES), max_size=5).map(
    lambda pairs: "&".join(f"{n}{eq}{v}" for n, eq, v in pairs)
)
_URL = st.one_of(
    st.builds(lambda s, h, p, q, f: f"{s}{h}{p}?{q}{f}", _SCHEMES,
              st.lists(_HOST_CHARS, max_size=6).map("".join), st.lists(_PATH_CHARS, max_size=5).map("".join),
              _QUERY, st.sampled_from(["", "#", "#top", "#a?b=1"])),
    st.text(max_size=40),
)


@given(_URL)
@example("https://finance.sina.com.cn/china/2024-06-01/doc-ik1.shtml?utm_source=rss&from=feed")
@example("https://a.test/p?utm_source=x#frag")
@example("https://a.test/p?utm_source=x#")
@example("https://a.test?utm_source=x&b")
@example("https://a.test/p?b&&utm_source=1&c=")
@example("https://a.test/p?a=b=c&utm_source=1")
@example("https://[::1/p?utm_source=1")
@example("https://User@Host.Example:80/p?utm_source=1")
@example("https:////a?utm_source=1")
@example("https://Ex\tample.org/p\n?utm_source=1&b=2")  # urlsplit deletes tabs and newlines
@example("https://例子.org/p?utm_source=1")
def test_plain_path_equals_urllib(url: str) -> None:
    assert _outcome(strip_tracking, url) == _outcome(strip_tracking_by_urllib, url)
    assert _outcome(web_url, url) == _outcome(_urllib_web_url, url)
    assert _outcome(host, url) == _outcome(_urllib_host, url)


_JOIN_URL = st.one_of(
    _URL,
    st.builds(lambda s, h, p, q, f: f"{s}{h}{p}{q}{f}", _SCHEMES,
              st.lists(_HOST_CHARS, max_size=6).map("".join), st.lists(_PATH_CHARS, max_size=5).map("".join),
              st.sampled_from(["", "?", "?a=1", "?;"]), st.sampled_from(["", "#", "#top", "#a?b=1"])),
)


@given(_JOIN_URL, _JOIN_URL)
@example("https://finance.sina.com.cn/china/", "https://finance.sina.com.cn/china/doc-1.shtml?a=1&b=2")
@example("https://a.test/", "https://a.test/p?")
@example("https://a.test/", "https://a.test/p#")
@example("https://a.test/", "https://a.test/p;")
@example("https://a.test/", "https://a.test/p;x?y")
@example("https://a.test/", "https://a.test/a;b/c")
@example("https://a.test/", "http://a.test/p?")
@example("http://[::1/", "https://a.test/p")
@example("feed://a.test/", "https://a.test/p?")
@example("", "https://a.test/p?")
def test_join_url_equals_urljoin(base: str, url: str) -> None:
    assert _outcome(lambda u: join_url(base, u), url) == _outcome(lambda u: urljoin(base, u), url)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://a.test/p?utm_source=rss&from=feed&id=3", "https://a.test/p?id=3"),
    ("https://a.test/p?utm_source=rss#c", "https://a.test/p#c"),
    ("https://a.test/p?id=3", "https://a.test/p?id=3"),
])
def test_strip_tracking(url: str, expected: str) -> None:
    assert strip_tracking(url) == expected


def test_host() -> None:
    assert host("https://User:pw@Finance.SINA.com.cn:443/x") == "finance.sina.com.cn"
    assert host("not a url") == ""
    with pytest.raises(ValueError):
        host("http://[::1/x")
