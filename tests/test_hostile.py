"""Hostile and broken input through the whole pipeline: a real HTTP server on loopback, the poll
(worker.ingest.poll_source, what the task runs) in its own process whose peak RSS is measured,
SQLite storage, then the feeds and pages the web app serves.

Bounds stated here and in docs/reliability.md: the pipeline process stays under 300 MB peak RSS
whatever the feeds do, and a hostile feed costs at most the fetch deadline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select

from tests.conftest import ROOT
from tests.faults.harness import FeedServer, rss, send, static_feed
from worker import ingest
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import Article, IngestError, Sighting, Source

pytestmark = pytest.mark.slow
PEAK_RSS_LIMIT_MB = 300
FETCH_DEADLINE = 4  # seconds, the whole fetch (the drip server is cut off by it)
MB = 1024 * 1024


# ---- hostile feeds ---------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
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
]>
<rss version="2.0"><channel><title>laughs</title><link>https://laughs.example/</link>
<item><title>laugh &lol9;</title><guid>laugh-1</guid><description>&lol9;</description></item>
</channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "http://127.0.0.1:1/x">]>
<rss version="2.0"><channel><title>xxe</title><link>https://xxe.example/</link>
<item><title>secret &xxe;</title><guid>xxe-1</guid>
<description>passwd: &xxe; remote: &remote; and some words so that this is an article.</description></item>
</channel></rss>"""

XSS_ITEM = ("<p>Hello</p><script>alert(1)</script><img src='x' onerror='alert(2)'>"
            "<a href='javascript:alert(3)'>click</a><iframe src='https://evil.example/'></iframe>"
            "<svg onload='alert(4)'><circle/></svg><object data='x.swf'></object><embed src='x'>"
            "<form action='https://evil.example/'><input name='q'></form>"
            "<meta http-equiv='refresh' content='0;url=https://evil.example/'><base href='https://evil.example/'>"
            "<p style='background:url(javascript:alert(5))' onclick='alert(6)'>styled</p>"
            "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>data</a>"
            "<style>body{background:red}</style><p>The rest of a long article body, in words.</p>")


def gzip_bomb(size: int = 200 * MB) -> bytes:
    """`size` bytes of zeros gzip-compressed (~200 KB), built chunk by chunk."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    return b"".join([*(compressor.compress(zeros) for _ in range(size // MB)), compressor.flush()])


def endless_body(total: int = 200 * MB) -> Any:
    """A 200 MB chunked body, streamed from a generator: never held in memory."""
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>huge</title>'
        item = b"<item><title>x</title><description>" + b"y" * 65000 + b"</description></item>"
        sent = 0
        for chunk in (head, *(item for _ in range(total // len(item)))):
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        handler.wfile.write(b"0\r\n\r\n")
    return behaviour


def drip(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(60):  # one byte a second: no single read ever times out
        handler.wfile.write(b" ")
        handler.wfile.flush()
        time.sleep(1)


def redirect_to(location: str) -> Any:
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 302, b"", "text/plain", Location=location)
    return behaviour


def with_headers(body: bytes, content_type: str, **headers: str) -> Any:
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 200, body, content_type, **headers)
    return behaviour


def items_feed(items: str, title: str = "t") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://{title}.example/</link>{items}</channel></rss>").encode()


BODY = "a body of an article long enough to stand alone, in plain words"
TEN_THOUSAND = items_feed("".join(f"<item><title>n{i}</title><guid>n-{i}</guid><description>item {i}: "
                                  f"{BODY}</description></item>" for i in range(10_000)), "tenk")
DATES = items_feed("".join(
    f"<item><title>date {name}</title><guid>date-{name}</guid><pubDate>{value}</pubDate>"
    f"<description>{name}: {BODY}</description></item>" for name, value in (
        ("year0", "Sat, 01 Jan 0000 00:00:00 GMT"), ("year9999", "Fri, 31 Dec 9999 23:59:59 GMT"),
        ("negative", "-0001-01-01T00:00:00Z"), ("garbage", "yesterday-ish"),
        ("overflow", "Mon, 99 Foo 99999999999 99:99:99 +9999"))), "dates")
NO_GUIDS = items_feed(
    f"<item><title>only a link</title><link>https://noguid.example/a</link><description>a {BODY}"
    f"</description></item><item><title>nothing but text</title><description>b {BODY}</description>"
    "</item>", "noguid")
DUPLICATE_GUIDS = items_feed("".join(
    f"<item><title>dup {i}</title><guid>same</guid><description>version {i} {BODY}</description></item>"
    for i in range(3)), "dupguid")
CHINESE = "北京市多措并举推动消费帮扶工作取得新成效"
LYING_CHARSET = items_feed(f"<item><title>{CHINESE}</title><guid>lie-1</guid><description>{CHINESE}，"
                           f"{BODY}</description></item>", "lying")
INVALID_UTF8 = items_feed(f"<item><title>broken BYTES</title><guid>u-1</guid><description>before BYTES "
                          f"after {BODY}</description></item>", "badutf8").replace(b"BYTES", b"\xff\xfe\xc3(")


def hostile_feeds() -> dict[str, Any]:
    return {
        "/good.xml": static_feed(rss("good", [("g-1", "good one"), ("g-2", "good two")])),
        "/laughs.xml": static_feed(BILLION_LAUGHS),
        "/xxe.xml": static_feed(XXE),
        "/gzip-bomb.xml": with_headers(gzip_bomb(), "application/rss+xml", Content_Encoding="gzip"),
        "/huge.xml": endless_body(),
        "/drip.xml": drip,
        "/loop-a": redirect_to("/loop-b"),
        "/loop-b": redirect_to("/loop-a"),
        "/html": with_headers(b"<!doctype html><html><body><h1>Welcome</h1><p>Not a feed.</p></body></html>",
                              "text/html; charset=utf-8"),
        "/random.bin": with_headers(os.urandom(64 * 1024), "application/octet-stream"),
        "/bad-utf8.xml": static_feed(INVALID_UTF8),
        "/lying-charset.xml": with_headers(LYING_CHARSET, "application/rss+xml; charset=iso-8859-1"),
        "/ten-thousand.xml": static_feed(TEN_THOUSAND),
        "/dates.xml": static_feed(DATES),
        "/no-guids.xml": static_feed(NO_GUIDS),
        "/duplicate-guids.xml": static_feed(DUPLICATE_GUIDS),
        # Just under the 10 MB cap, one item: the biggest body a feed can make the pipeline clean.
        "/one-huge-item.xml": static_feed(items_feed(
            "<item><title>huge</title><guid>huge-1</guid><description><![CDATA[<div>"
            + "<p>很长的文章。 a very long article, in many paragraphs.</p>" * 150_000
            + "</div>]]></description></item>", "hugeitem")),
        "/xss.xml": static_feed(items_feed(f"<item><title>xss &lt;script&gt;alert(0)&lt;/script&gt;</title>"
                                           f"<guid>xss-1</guid><link>javascript:alert(7)</link><description>"
                                           f"<![CDATA[{XSS_ITEM}]]></description></item>", "xss")),
    }


def run_pipeline(args: list[str], env: dict[str, str], timeout: float = 240) -> dict[str, Any]:
    """The pipeline in its own process: (outcomes, seconds, peak RSS)."""
    completed = subprocess.run([sys.executable, "-m", "tests.pipeline_runner", *args], env=env, cwd=ROOT,
                               capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    result["log"] = completed.stderr
    return result


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT),
            "FEEDWASH_FETCH_TOTAL_TIMEOUT_SECONDS": str(FETCH_DEADLINE), **extra}


@pytest.fixture
def hostile_server() -> Iterator[FeedServer]:
    with FeedServer(behaviours=hostile_feeds()).running() as server:
        yield server


# ---- the whole pipeline over hostile feeds ---------------------------------------------------

def errors_by_url() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with transaction() as session:
        for source in session.execute(select(Source)).scalars():
            found[source.url] = [e.message for e in session.execute(
                select(IngestError).where(IngestError.source_id == source.id)).scalars()]
    return found


def articles_of(url: str) -> list[Article]:
    with transaction() as session:
        return list(session.execute(select(Article).join(Sighting, Sighting.article_id == Article.id).join(
            Source, Source.id == Sighting.source_id).where(Source.url == url).order_by(Article.id)).scalars())


def test_hostile_feeds_are_recorded_errors_within_bounds(sqlite_url: str, hostile_server: FeedServer) -> None:
    with transaction() as session:
        for path in hostile_server.behaviours:
            if path != "/loop-b":
                repo.ensure_source(session, "feed", hostile_server.url(path), ingest.utcnow())
    run = run_pipeline(["poll"], child_env())
    print(f"hostile feeds: {run['seconds']} s, peak RSS {run['peak_rss_kb'] / 1024:.0f} MB")  # docs figures
    outcome = {r["url"].removeprefix(hostile_server.url("")): r for r in run["result"]}
    errors = {url.removeprefix(hostile_server.url("")): messages for url, messages in errors_by_url().items()}

    assert run["peak_rss_kb"] / 1024 < PEAK_RSS_LIMIT_MB, run["peak_rss_kb"]
    # The good feed, polled among them all, is stored normally.
    assert outcome["/good.xml"]["status"] == "ok" and outcome["/good.xml"]["new"] == 2
    # Each hostile body is a recorded error that says what happened.
    expected_errors = {
        "/gzip-bomb.xml": "decoded response larger than", "/huge.xml": "response larger than",
        "/drip.xml": "total deadline", "/loop-a": "more than 5 redirects", "/html": "not a feed",
        "/random.bin": "not a feed",
    }
    for path, words in expected_errors.items():
        assert outcome[path]["status"] == "error", (path, outcome[path])
        named = [m for m in errors[path] if words in m.lower() and hostile_server.url(path) in m]
        assert named, (path, errors[path])
    assert outcome["/drip.xml"]["seconds"] < FETCH_DEADLINE + 5
    # Entity tricks: no expansion, no file read, no request made for the remote entity.
    for path in ("/laughs.xml", "/xxe.xml"):
        for article in articles_of(hostile_server.url(path)):
            assert "lollol" not in article.text and "root:" not in article.text
            assert len(article.html) < 10_000
    assert {outcome["/laughs.xml"]["status"], outcome["/xxe.xml"]["status"]} <= {"ok", "error"}
    # Imported correctly.
    assert outcome["/ten-thousand.xml"]["new"] == 10_000
    assert outcome["/one-huge-item.xml"]["new"] == 1
    assert any("cut to 1000000" in m for m in errors["/one-huge-item.xml"])
    assert outcome["/duplicate-guids.xml"]["new"] == 1  # the first occurrence wins
    assert outcome["/no-guids.xml"]["new"] == 2
    dates = {a.title: a.published_at for a in articles_of(hostile_server.url("/dates.xml"))}
    assert len(dates) == 5 and all(d <= ingest.utcnow() for d in dates.values()), dates  # none in the future
    assert [a.title for a in articles_of(hostile_server.url("/lying-charset.xml"))] == [CHINESE]
    bad_utf8 = articles_of(hostile_server.url("/bad-utf8.xml"))
    assert outcome["/bad-utf8.xml"]["status"] == "error" or ("before" in bad_utf8[0].text
                                                             and "after" in bad_utf8[0].text)
    assert_served_feeds_inert()


ACTIVE = re.compile(r"<\s*(script|iframe|object|embed|form|meta|base|svg|style|link)\b|\bon[a-z]+\s*=|"
                    r"javascript:|vbscript:|data:text/html", re.I)


# Pages carry the app's own <meta charset>, <style> and <link rel=stylesheet>; nothing else active.
PAGE_ACTIVE = re.compile(r"<\s*(script|iframe|object|embed|form|base|svg)\b|<meta[^>]+http-equiv|"
                         r"\bon[a-z]+\s*=|javascript:|vbscript:|data:text/html", re.I)


def assert_inert_html(html: str, where: str, pattern: re.Pattern[str] = ACTIVE) -> None:
    found = pattern.search(html)
    assert found is None, f"active content in {where}: {html[max(found.start() - 80, 0):found.end() + 80]}"


def assert_served_feeds_inert() -> None:
    """Every output feed's HTML payloads and every page are free of active content."""
    from worker.web.app import app

    client = TestClient(app)
    atom = etree.fromstring(client.get("/feeds/all.atom?limit=500").content)
    contents = atom.findall(".//{http://www.w3.org/2005/Atom}content")
    assert any("styled" in (c.text or "") for c in contents)  # the hostile item is among them
    for content in contents:
        assert_inert_html(content.text or "", "Atom content")
    rss_feed = etree.fromstring(client.get("/feeds/all.rss?limit=500").content)
    for description in rss_feed.iter("description"):
        assert_inert_html(description.text or "", "RSS description")
    for link in [*rss_feed.iter("link"), *atom.iter("{http://www.w3.org/2005/Atom}link")]:
        assert "javascript:" not in ((link.text or "") + (link.get("href") or ""))
    for item in json.loads(client.get("/feeds/all.json?limit=500").content)["items"]:
        assert_inert_html(item.get("content_html", ""), "JSON Feed content_html")
        assert not str(item.get("url", "")).startswith("javascript:")
    assert_inert_html(client.get("/").text, "the index page", PAGE_ACTIVE)
    with transaction() as session:
        ids = session.execute(select(Article.id).order_by(Article.id.desc()).limit(40)).scalars().all()
    for article_id in ids:
        page = client.get(f"/articles/{article_id}").text
        assert_inert_html(page, f"article page {article_id}", PAGE_ACTIVE)


# ---- SSRF, end to end ------------------------------------------------------------------------

def test_ssrf_attempts_are_refused_and_recorded(sqlite_url: str, hostile_server: FeedServer) -> None:
    port = hostile_server.port
    # 127.0.0.2 stands in for a public host (the runner treats that one address as public).
    public = FeedServer(host="127.0.0.2", behaviours={
        "/good.xml": static_feed(rss("public", [("p-1", "public one"), ("p-2", "public two")])),
        "/to-loopback": redirect_to(f"http://127.0.0.1:{port}/good.xml"),
        "/to-localhost": redirect_to(f"http://localhost:{port}/good.xml"),
        "/to-metadata": redirect_to("http://169.254.169.254/latest/meta-data/"),
    })
    refused = [
        f"http://127.0.0.1:{port}/good.xml", f"http://localhost:{port}/good.xml",
        f"http://[::1]:{port}/good.xml", f"http://[::ffff:127.0.0.1]:{port}/good.xml",
        f"http://10.0.0.1:{port}/feed", f"http://192.168.1.1:{port}/feed", f"http://172.16.0.1:{port}/feed",
        "http://169.254.169.254/latest/meta-data/", f"http://[fe80::1]:{port}/feed",
        f"http://0.0.0.0:{port}/good.xml", f"http://2130706433:{port}/good.xml",
    ]
    with public.running():
        redirects = [public.url(p) for p in ("/to-loopback", "/to-localhost", "/to-metadata")]
        with transaction() as session:
            for url in [*refused, *redirects, public.url("/good.xml")]:
                repo.ensure_source(session, "feed", url, ingest.utcnow())
        run = run_pipeline(["poll", "--pretend-public", "127.0.0.2"],
                           child_env(FEEDWASH_ALLOW_PRIVATE_NETWORKS="0"))
    outcome = {r["url"]: r for r in run["result"]}
    errors = errors_by_url()
    for url in [*refused, *redirects]:
        assert outcome[url]["status"] == "error", (url, outcome[url])
        assert any("refused" in m.lower() for m in errors[url]), (url, errors[url])
    # Nothing inside was contacted; the "public" host answered its three redirects and its feed.
    assert sum(hostile_server.requests.values()) == 0
    assert sum(public.requests.values()) == 4
    assert outcome[public.url("/good.xml")]["new"] == 2


# ---- hostile seed files ----------------------------------------------------------------------

def test_hostile_seed_files(sqlite_url: str, tmp_path: Path) -> None:
    from tests.faults.harness import seed_post

    folder = tmp_path / "hostile-seeds"
    folder.mkdir()
    (folder / "good.md").write_bytes(seed_post(1))
    (folder / "invalid-yaml.md").write_bytes(b"---\ntitle: [unclosed\n  - : :\n---\n<p>body</p>\n")
    (folder / "no-front-matter.md").write_bytes(b"<p>Just HTML, no front matter at all.</p>\n")
    (folder / "binary.md").write_bytes(os.urandom(4096) + b"\x00")
    (folder / "empty.md").write_bytes(b"")
    (folder / "quotes.md").write_bytes(
        b"---\ntitle: 'He said \"no\" and she said 'yes''\ndate: 2022-02-22 11:01:31\n---\n"
        b"<p>A post whose title has both quote kinds, with enough words to be an article.</p>\n")
    with (folder / "huge.md").open("wb") as huge:  # 50 MB, written in pieces
        huge.write(b"---\ntitle: 'Fifty megabytes'\n---\n<div>")
        paragraph = b"<p>" + "很长的文章。 a very long article. ".encode() * 40 + b"</p>\n"
        for _ in range(50 * MB // len(paragraph)):
            huge.write(paragraph)
        huge.write(b"</div>\n")
    run = run_pipeline(["seeds", str(folder)], child_env())
    print(f"hostile seeds: {run['seconds']} s, peak RSS {run['peak_rss_kb'] / 1024:.0f} MB")  # docs figures
    assert run["peak_rss_kb"] / 1024 < PEAK_RSS_LIMIT_MB, run["peak_rss_kb"]
    errors = {message.split(":", 1)[0]: message for message in run["result"]["errors"]}
    assert set(errors) == {"invalid-yaml.md", "no-front-matter.md", "binary.md", "empty.md", "huge.md"}
    assert "not valid YAML" in errors["invalid-yaml.md"]
    assert "front matter" in errors["no-front-matter.md"]
    assert "binary" in errors["binary.md"] and "empty" in errors["empty.md"]
    assert "too large" in errors["huge.md"]
    assert run["result"]["imported"] == 2  # good.md and quotes.md
    with transaction() as session:
        titles = set(session.execute(select(Article.title)).scalars())
        recorded = {e.ref for e in session.execute(select(IngestError)).scalars()}
    assert titles == {"Seed story 1", "He said \"no\" and she said 'yes'"}
    assert recorded == set(errors)
