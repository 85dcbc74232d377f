"""worker.fetch against real HTTP servers on 127.0.0.1: conditional GET, content codings, limits,
redirects, Retry-After, the SSRF guard and per-host politeness (on the real Redis, db 13)."""

from __future__ import annotations

import gzip
import ipaddress
import multiprocessing
import os
import re
import socket
import socketserver
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import brotli
import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import REDIS_URL
from worker import USER_AGENT, netguard, politeness
from worker.fetch import FetchError, fetch, parse_retry_after
from worker.settings import Settings, get_settings

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"
REDIS_DB13 = f"{REDIS_URL}/13"


def settings(**overrides: object) -> Settings:
    return get_settings().model_copy(update=overrides)


def fetch_error(url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, **kwargs)  # type: ignore[arg-type]
    return caught.value


# ---- conditional GET, content codings ----------------------------------------------------------

def test_conditional_get_round_trip(httpserver: HTTPServer) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(FEED, content_type="application/rss+xml",
                        headers={"ETag": '"v1"', "Last-Modified": "Sat, 28 Nov 2026 10:00:00 GMT"})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    url = httpserver.url_for("/feed")
    first = fetch(url)
    assert (first.status, first.content, first.not_modified) == (200, FEED, False)
    validators = (first.headers["etag"], first.headers["last-modified"])
    assert validators == ('"v1"', "Sat, 28 Nov 2026 10:00:00 GMT")
    second = fetch(url, etag=first.headers["etag"], last_modified=first.headers["last-modified"])
    assert (second.status, second.content, second.not_modified, second.redirects) == (304, b"", True, ())
    assert "If-None-Match" not in seen[0] and "If-Modified-Since" not in seen[0]
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Sat, 28 Nov 2026 10:00:00 GMT"
    assert seen[1]["User-Agent"] == USER_AGENT and "feedwash" in USER_AGENT and "https://" in USER_AGENT
    assert seen[1]["Accept-Encoding"] == "gzip, deflate, br"


@pytest.mark.parametrize(("coding", "encode"), [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress),
    ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),
    ("identity", lambda data: data),
])
def test_compressed_bodies_are_decoded(httpserver: HTTPServer, coding: str, encode: object) -> None:
    body = FEED * 500
    httpserver.expect_request("/feed").respond_with_data(encode(body), headers={"Content-Encoding": coding})  # type: ignore[operator]
    result = fetch(httpserver.url_for("/feed"))
    assert result.content == body
    assert result.headers["content-encoding"] == coding


def test_unsupported_or_corrupt_coding_is_a_network_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/zstd").respond_with_data(b"xx", headers={"Content-Encoding": "zstd"})
    httpserver.expect_request("/bad").respond_with_data(b"not gzip", headers={"Content-Encoding": "gzip"})
    error = fetch_error(httpserver.url_for("/zstd"))
    assert error.kind == "network"
    assert str(error) == f"{httpserver.url_for('/zstd')}: unsupported Content-Encoding 'zstd'"
    error = fetch_error(httpserver.url_for("/bad"))
    assert error.kind == "network" and "corrupt gzip body" in str(error)


# ---- size limits --------------------------------------------------------------------------------

def _gzipped_zeros(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1024 * 1024)
    return b"".join([*(compressor.compress(block) for _ in range(megabytes)), compressor.flush()])


class _Bomb(BaseHTTPRequestHandler):
    """Serves 50 MB of zeros, gzipped to about 50 KB. (Not pytest-httpserver: its in-process
    werkzeug would add its own allocations to the memory traced below.)"""

    body = _gzipped_zeros(50)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_gzip_bomb_is_cut_off_not_inflated() -> None:
    assert len(_Bomb.body) < 100_000
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bomb)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/bomb"
    limit = 1024 * 1024
    tracemalloc.start()
    try:
        error = fetch_error(url, settings=settings(fetch_max_bytes=limit))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        server.shutdown()
        server.server_close()
    assert error.kind == "too-large"
    assert str(error) == f"{url}: decoded response larger than {limit} bytes"
    assert peak < 3 * limit  # inflating it would have taken 50 MB


def test_plain_body_over_the_cap(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    error = fetch_error(httpserver.url_for("/big"), settings=settings(fetch_max_bytes=4096))
    assert error.kind == "too-large"
    assert str(error) == f"{httpserver.url_for('/big')}: response of 5000 bytes is larger than 4096 bytes"


# ---- slow servers: the total deadline ------------------------------------------------------------

class _Drip(socketserver.BaseRequestHandler):
    """Sends one byte every 0.5 s (headers first, or a close-delimited HTTP/1.0 body)."""

    drip_headers = False

    def handle(self) -> None:
        self.request.recv(65536)
        head = b"HTTP/1.0 200 OK\r\nContent-Type: application/rss+xml\r\n\r\n"
        payload = head + FEED * 100 if self.drip_headers else FEED * 100
        if not self.drip_headers:
            self.request.sendall(head)
        try:
            for i in range(len(payload)):
                self.request.sendall(payload[i:i + 1])
                time.sleep(0.5)
        except OSError:
            return  # the client hung up: that is the point


@pytest.fixture(params=["body", "headers"])
def drip_url(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Drip", (_Drip,), {"drip_headers": request.param == "headers"})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed"
    server.shutdown()
    server.server_close()


def test_dripping_server_is_cut_off_by_the_total_deadline(drip_url: str) -> None:
    config = settings(fetch_total_timeout_seconds=2.0, fetch_timeout_seconds=20.0)
    error = fetch_error(drip_url, settings=config)
    assert error.kind == "timeout"
    assert str(error) == f"{drip_url}: timed out (total deadline of 2 s passed)"


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        error = fetch_error(f"http://127.0.0.1:{port}/feed")
    assert error.kind == "network" and "ConnectError" in str(error)


# ---- redirects -----------------------------------------------------------------------------------

def test_redirect_hops_are_recorded(httpserver: HTTPServer) -> None:
    base = httpserver.url_for("")
    # The same server under its other name: a different host as far as headers are concerned.
    names = ("localhost", "127.0.0.1") if "localhost" in base else ("127.0.0.1", "localhost")
    other = base.replace(*names)
    assert other != base
    seen: dict[str, str | None] = {}

    def feed(request: Request) -> Response:
        seen[request.path] = request.headers.get("X-Api-Key")
        return Response(FEED)

    httpserver.expect_request("/1").respond_with_data("", status=301, headers={"Location": "/2"})
    httpserver.expect_request("/2").respond_with_data("", status=302, headers={"Location": f"{base}3"})
    httpserver.expect_request("/3").respond_with_data("", status=307, headers={"Location": "4?x=1"})
    httpserver.expect_request("/4").respond_with_data("", status=308, headers={"Location": f"{other}final"})
    httpserver.expect_request("/final").respond_with_handler(feed)
    result = fetch(f"{base}1", extra_headers={"X-Api-Key": "secret"})
    assert result.redirects == (
        (301, f"{base}2"), (302, f"{base}3"), (307, f"{base}4?x=1"), (308, f"{other}final"))
    assert (result.url, result.status, result.content) == (f"{other}final", 200, FEED)
    # The per-source key went to the source's host only, not to the host a redirect chose.
    first_hop = next(r for r, _ in httpserver.log if r.path == "/1")
    assert first_hop.headers.get("X-Api-Key") == "secret"
    assert seen == {"/final": None}


def test_redirect_loop_and_too_many_hops(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", status=302, headers={"Location": "/a"})
    error = fetch_error(httpserver.url_for("/a"))
    assert (error.kind, error.status) == ("redirects", 302)
    assert str(error).startswith(f"{httpserver.url_for('/a')}: more than 5 redirects")
    for i in range(6):
        httpserver.expect_request(f"/hop{i}").respond_with_data(
            "", status=301, headers={"Location": f"/hop{i + 1}"})
    httpserver.expect_request("/hop6").respond_with_data(FEED)
    assert fetch_error(httpserver.url_for("/hop0")).kind == "redirects"  # 6 hops
    assert len(fetch(httpserver.url_for("/hop1")).redirects) == 5  # 5 hops are fine


# ---- HTTP errors and Retry-After -----------------------------------------------------------------

def test_429_with_retry_after_seconds_and_date(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/seconds").respond_with_data("", status=429, headers={"Retry-After": "120"})
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=600), usegmt=True)
    httpserver.expect_request("/date").respond_with_data("", status=429, headers={"Retry-After": later})
    error = fetch_error(httpserver.url_for("/seconds"))
    assert (error.kind, error.status, error.retry_after) == ("http", 429, 120.0)
    assert str(error) == f"{httpserver.url_for('/seconds')}: HTTP 429 TOO MANY REQUESTS"
    error = fetch_error(httpserver.url_for("/date"))
    assert error.status == 429 and error.retry_after is not None and 500 < error.retry_after <= 600


def test_503_410_and_500(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/503").respond_with_data("", status=503, headers={"Retry-After": "30"})
    httpserver.expect_request("/503-bare").respond_with_data("", status=503)
    httpserver.expect_request("/410").respond_with_data("gone", status=410, headers={"Retry-After": "5"})
    httpserver.expect_request("/500").respond_with_data("", status=500)
    unavailable = fetch_error(httpserver.url_for("/503"))
    assert (unavailable.kind, unavailable.status, unavailable.retry_after) == ("http", 503, 30.0)
    assert fetch_error(httpserver.url_for("/503-bare")).retry_after is None
    gone = fetch_error(httpserver.url_for("/410"))
    assert (gone.kind, gone.status, gone.retry_after) == ("http", 410, None)
    assert (fetch_error(httpserver.url_for("/500")).status) == 500


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Sun, 29 Nov 2026 12:02:00 GMT", now) == 120.0
    assert parse_retry_after("Sun, 29 Nov 2026 11:00:00 GMT", now) == 0.0  # in the past: now
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("-5", now) is None


# ---- SSRF guard ----------------------------------------------------------------------------------

@pytest.fixture
def guarded() -> Settings:
    return settings(allow_private_networks=False)


@pytest.mark.parametrize("host", [
    "127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0", "localhost",
    "192.168.1.1", "[fe80::1]", "[fc00::1]",
])
def test_private_addresses_are_refused(httpserver: HTTPServer, guarded: Settings, host: str) -> None:
    port = httpserver.port
    url = f"http://{host}:{port}/latest/meta-data/"
    error = fetch_error(url, settings=guarded)
    assert error.kind == "refused-address"
    assert str(error).startswith(f"{url}: refused to connect to {host.strip('[]')}")
    assert httpserver.log == []


def test_a_public_looking_name_resolving_to_loopback_is_refused(
    httpserver: HTTPServer, guarded: Settings, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["127.0.0.1"])
    error = fetch_error(f"http://feeds.example:{httpserver.port}/feed", settings=guarded)
    assert error.kind == "refused-address"
    assert "refused to connect to feeds.example (127.0.0.1): loopback address" in str(error)
    assert httpserver.log == []


def test_one_private_address_among_public_ones_refuses_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pure check, no connection is attempted.
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(netguard.RefusedAddress, match=re.escape("mixed.example (10.0.0.7): private address")):
        netguard.checked_addresses("mixed.example", 443)
    monkeypatch.setattr(netguard, "resolve", lambda host, port: ["93.184.216.34", "2001:4860:4860::8888"])
    assert netguard.checked_addresses("public.example", 443) == ["93.184.216.34", "2001:4860:4860::8888"]


@pytest.mark.parametrize(("target", "reason"), [
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://intranet.example/admin", "private"),
    ("/local-again", "loopback"),
])
def test_a_redirect_to_a_private_address_is_refused(
    httpserver: HTTPServer, guarded: Settings, monkeypatch: pytest.MonkeyPatch, target: str, reason: str,
) -> None:
    # The test server is on 127.0.0.1: for this test only, "feeds.example" is a public name
    # whose address is that server, so that the first hop is allowed and the redirect is not.
    names = {"feeds.example": "127.0.0.1", "intranet.example": "10.1.2.3"}
    monkeypatch.setattr(netguard, "resolve", lambda host, port: [names.get(host, host)])
    real_reason = netguard.refusal_reason
    first_hop_only = iter([None])
    monkeypatch.setattr(netguard, "refusal_reason", lambda address: (
        next(first_hop_only, "loopback") if str(address) == "127.0.0.1" else real_reason(address)))
    httpserver.expect_request("/feed").respond_with_data("", status=302, headers={"Location": target})
    url = f"http://feeds.example:{httpserver.port}/feed"
    error = fetch_error(url, settings=guarded)
    assert error.kind == "refused-address"
    assert str(error).endswith(f"{reason} address")
    assert [request.path for request, _ in httpserver.log] == ["/feed"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "gopher://127.0.0.1/", ""])
def test_only_http_and_https(url: str) -> None:
    error = fetch_error(url)
    assert error.kind == "refused-address" and "only http and https" in str(error)


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1\x00/", "http://127.0.0.1:99999/"])
def test_malformed_urls_are_refused_not_crashes(url: str) -> None:
    error = fetch_error(url)
    assert error.kind == "refused-address" and str(error).startswith(f"{url}: not a valid URL")


@pytest.mark.parametrize(("headers", "problem"), [
    ({"X-Key": "ключ"}, "extra header X-Key has a value that is not printable ASCII on one line"),
    ({"X-Key": "a\r\nX: 1"}, "extra header X-Key has a value that is not printable ASCII on one line"),
    ({"Bad Name": "x"}, "extra header name 'Bad Name' is not a valid HTTP header name"),
])
def test_invalid_extra_headers_are_a_clear_error(
    httpserver: HTTPServer, headers: dict[str, str], problem: str,
) -> None:
    url = httpserver.url_for("/feed")
    error = fetch_error(url, extra_headers=headers)
    assert (error.kind, str(error)) == ("invalid-request", f"{url}: {problem}")
    assert httpserver.log == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1"])
def test_odd_spellings_of_loopback_are_refused(guarded: Settings, host: str) -> None:
    error = fetch_error(f"http://{host}/", settings=guarded)
    assert (error.kind, str(error)) == (
        "refused-address", f"http://{host}/: refused to connect to {host} (127.0.0.1): loopback address")


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "not globally routable"), ("255.255.255.255", "reserved"),
    ("203.0.113.7", "private"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"),
    ("ff02::1", "multicast"), ("::ffff:10.0.0.1", "private (embedded in ::ffff:a00:1)"),
    ("2002:7f00:1::1", "loopback (embedded in 2002:7f00:1::1)"),
    ("8.8.8.8", None), ("93.184.216.34", None), ("2001:4860:4860::8888", None),
])
def test_refusal_reasons(address: str, reason: str | None) -> None:
    assert netguard.refusal_reason(ipaddress.ip_address(address)) == reason


def test_private_networks_allowed_by_setting(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_ALLOW_PRIVATE_NETWORKS", "0")
    get_settings.cache_clear()
    assert get_settings().allow_private_networks is False  # the default a user gets
    monkeypatch.setenv("FEEDWASH_ALLOW_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    httpserver.expect_request("/feed").respond_with_data(FEED)
    assert fetch(httpserver.url_for("/feed")).content == FEED


# ---- politeness ----------------------------------------------------------------------------------

class _Counting(BaseHTTPRequestHandler):
    in_flight = 0
    max_seen = 0
    served = 0
    lock = threading.Lock()
    pause = 0.3

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.max_seen = max(cls.max_seen, cls.in_flight)
        time.sleep(cls.pause)
        with cls.lock:
            cls.in_flight -= 1
            cls.served += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def counting_server() -> Iterator[tuple[str, type[_Counting]]]:
    handler = type("Counting", (_Counting,), {"lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _fetch_in_threads(url: str, count: int, config: Settings) -> list[object]:
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(fetch(url, settings=config).status)
        except FetchError as exc:
            outcomes.append(exc.kind)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.redis
def test_per_host_limit_on_redis(counting_server: tuple[str, type[_Counting]]) -> None:
    base, handler = counting_server
    client = redis.Redis.from_url(REDIS_DB13)
    client.delete(politeness.KEY_PREFIX + "127.0.0.1")
    config = settings(broker_url=REDIS_DB13, max_requests_per_host=2)
    assert _fetch_in_threads(f"{base}/feed", 6, config) == [200] * 6
    assert (handler.max_seen, handler.served) == (2, 6)
    assert client.zcard(politeness.KEY_PREFIX + "127.0.0.1") == 0  # every slot given back


def test_per_host_limit_in_process(counting_server: tuple[str, type[_Counting]]) -> None:
    base, handler = counting_server
    config = settings(max_requests_per_host=2)
    assert config.resolved_broker_url().startswith("sqla+sqlite")
    assert _fetch_in_threads(f"{base}/feed", 6, config) == [200] * 6
    assert (handler.max_seen, handler.served) == (2, 6)


def test_per_host_limit_across_processes_without_redis(
        counting_server: tuple[str, type[_Counting]], tmp_path: Path) -> None:
    """The embedded broker's worker is several processes (prefork): the limit holds across
    them, not once per process (found by an audit in session 5: 4 in flight with N = 2)."""
    base, handler = counting_server
    config = settings(max_requests_per_host=2, data_dir=tmp_path)
    assert config.resolved_broker_url().startswith("sqla+sqlite")
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_fetch_in_threads, args=(f"{base}/feed", 2, config))
                for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=30)
    assert [child.exitcode for child in children] == [0, 0, 0]
    assert (handler.max_seen, handler.served) == (2, 6)


def test_a_dead_processs_slot_is_free_again(tmp_path: Path) -> None:
    """A slot is an flock on a lock file: the kernel drops it when its holder dies."""
    config = settings(max_requests_per_host=1, politeness_wait_seconds=0.2, data_dir=tmp_path)

    def hold_and_die() -> None:
        with politeness.host_slot("example.org", config):
            os._exit(0)  # no cleanup runs, as when a worker is killed

    child = multiprocessing.get_context("fork").Process(target=hold_and_die)
    child.start()
    child.join(timeout=30)
    with (politeness.host_slot("example.org", config), pytest.raises(politeness.HostBusy),
          politeness.host_slot("Example.org", config)):  # and the slot really is exclusive
        pass


def test_without_lock_files_the_limit_holds_in_the_process(
        counting_server: tuple[str, type[_Counting]], tmp_path: Path) -> None:
    """A data folder where no lock file can be made (here: a file) falls back, it never fails."""
    base, handler = counting_server
    config = settings(max_requests_per_host=2, data_dir=tmp_path / "not-a-folder")
    (tmp_path / "not-a-folder").write_text("a file")
    assert _fetch_in_threads(f"{base}/feed", 6, config) == [200] * 6
    assert (handler.max_seen, handler.served) == (2, 6)


@pytest.mark.redis
def test_busy_host_gives_up_after_the_wait_limit(counting_server: tuple[str, type[_Counting]]) -> None:
    base, handler = counting_server
    handler.pause = 1.0
    redis.Redis.from_url(REDIS_DB13).delete(politeness.KEY_PREFIX + "127.0.0.1")
    config = settings(broker_url=REDIS_DB13, max_requests_per_host=1, politeness_wait_seconds=0.2)
    outcomes = _fetch_in_threads(f"{base}/feed", 2, config)
    assert sorted(map(str, outcomes)) == ["200", "busy"]
    assert handler.served == 1


@pytest.mark.redis
def test_a_crashed_workers_slot_expires(counting_server: tuple[str, type[_Counting]]) -> None:
    base, _ = counting_server
    client = redis.Redis.from_url(REDIS_DB13)
    key = politeness.KEY_PREFIX + "127.0.0.1"
    client.delete(key)
    seconds, micros = client.time()
    client.zadd(key, {"crashed-worker": seconds + micros / 1e6 - 1})  # its expiry has passed
    config = settings(broker_url=REDIS_DB13, max_requests_per_host=1, politeness_wait_seconds=0.2)
    assert fetch(f"{base}/feed", settings=config).status == 200
    assert client.zcard(key) == 0
