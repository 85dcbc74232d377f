"""The only HTTP client code: one conditional GET under the limits of docs/polling.md "Fetching".

- redirects are followed here, one hop at a time, so every hop is recorded and each hop's
  connection passes the SSRF guard (worker.netguard) and takes a per-host politeness slot
  (worker.politeness);
- timeouts: connect, each read, and a total deadline that cuts off a server dripping bytes;
- the body is read raw and decoded in bounded steps (worker.contentcoding), so the size cap
  applies to the *decoded* body and a gzip bomb is never inflated.
"""

from __future__ import annotations

import re
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlencode, urljoin, urlsplit

import httpcore
import httpx

from worker import USER_AGENT
from worker.contentcoding import CorruptBody, UnsupportedEncoding, decoder_for
from worker.netguard import GuardedBackend, RefusedAddress
from worker.politeness import HostBusy, host_slot
from worker.settings import Settings, get_settings

ACCEPT = ("application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5")
ACCEPT_ENCODING = "gzip, deflate, br"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_AFTER_STATUSES = frozenset({429, 503})
RAW_CHUNK = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 field-name
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")  # httpx encodes values as ASCII


class FetchError(Exception):
    """The source could not be fetched; the message says why and names the URL.

    `kind` is one of:
      "http"             the server answered with an error status (`status` set; 410 = gone);
      "timeout"          connect/read timeout, or the total deadline passed;
      "network"          DNS, connection, TLS or protocol failure, corrupt compressed body;
      "too-large"        the decoded body (or its Content-Length) exceeds `fetch_max_bytes`;
      "redirects"        more than `fetch_max_redirects` hops (a loop, usually);
      "refused-address"  the URL or a redirect hop leads to a loopback, private, link-local,
                         multicast or reserved address, or is not a valid http(s) URL;
      "busy"             no per-host politeness slot came free in time: nothing was sent,
                         the scheduler should try again soon (not a failure of the source);
      "invalid-request"  the source's extra headers are not valid HTTP (name not a token,
                         value not printable ASCII): a configuration error, nothing was sent.
    `status` is the HTTP status when there was one; `retry_after` is the server's Retry-After in
    seconds (429/503), when it sent one.
    """

    def __init__(
        self, message: str, *, kind: str = "network", status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    content: bytes  # empty on 304; always the decoded body (Content-Encoding undone)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, as the server sent them
    redirects: tuple[tuple[int, str], ...] = ()  # every hop: (status, absolute target URL)
    elapsed: float = 0.0  # seconds from sending the request to the end of the body (metrics)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(
    url: str, *, etag: str | None = None, last_modified: str | None = None,
    settings: Settings | None = None, extra_headers: dict[str, str] | None = None,
) -> FetchResult:
    """GET `url` (conditionally, when validators are given). Raises FetchError."""
    settings = settings or get_settings()
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    problem = _invalid_header(extra_headers or {})
    if problem:
        raise FetchError(f"{url}: {problem}", kind="invalid-request")
    backend = GuardedBackend(settings.allow_private_networks)
    deadline = _Deadline(settings.fetch_total_timeout_seconds, backend)
    started = time.perf_counter()
    try:
        with _client(backend, settings) as client:
            result = _follow(client, url, headers, extra_headers or {}, settings, deadline)
            return replace(result, elapsed=time.perf_counter() - started)
    except RefusedAddress as exc:
        raise FetchError(f"{url}: {exc}", kind="refused-address") from None
    except HostBusy as exc:
        raise FetchError(f"{url}: {exc}", kind="busy") from None
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url}: timed out ({type(exc).__name__})", kind="timeout") from None
    except httpx.HTTPError as exc:
        if deadline.expired:
            raise FetchError(_deadline_message(url, settings), kind="timeout") from None
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}", kind="network") from None
    finally:
        deadline.cancel()


def _invalid_header(extra_headers: dict[str, str]) -> str | None:
    for name, value in extra_headers.items():
        if not _TOKEN.fullmatch(name):
            return f"extra header name {name!r} is not a valid HTTP header name"
        if not _HEADER_VALUE.fullmatch(value):
            return f"extra header {name} has a value that is not printable ASCII on one line"
    return None


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Built once per process: loading the CA bundle costs tens of milliseconds."""
    return httpx.create_ssl_context(trust_env=False)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose only way out is the guarded backend.

    Bypasses HTTPTransport.__init__ (which would build a pool and an SSL context of its own,
    per fetch); handle_request and close only use `_pool` (httpx 0.28, pinned).
    """

    def __init__(self, backend: GuardedBackend) -> None:  # super().__init__ not called, on purpose
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(), network_backend=backend, max_connections=4, http1=True, http2=False)


def _client(backend: GuardedBackend, settings: Settings) -> httpx.Client:
    transport = _GuardedTransport(backend)
    timeout = httpx.Timeout(settings.fetch_timeout_seconds, connect=settings.fetch_connect_timeout_seconds)
    # trust_env=False: an environment proxy would be a way around the address check.
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)


def _follow(
    client: httpx.Client, url: str, headers: dict[str, str], extra_headers: dict[str, str],
    settings: Settings, deadline: _Deadline,
) -> FetchResult:
    hops: list[tuple[int, str]] = []
    current = url
    origin_host = _host(url)
    for _ in range(settings.fetch_max_redirects + 1):
        host = _host(current)
        # Per-source headers (an API key) go to the source's own host only, never to a host
        # a redirect points at.
        request_headers = {**headers, **extra_headers} if host == origin_host else headers
        with host_slot(host, settings):
            deadline.start()
            with client.stream("GET", current, headers=request_headers) as response:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    current = urljoin(current, location.strip())
                    hops.append((response.status_code, current))
                    continue
                return _result(url, current, response, tuple(hops), settings, deadline)
    raise FetchError(f"{url}: more than {settings.fetch_max_redirects} redirects (last to {current})",
                     kind="redirects", status=hops[-1][0] if hops else None)


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        _ = parts.port  # raises on a port out of range
        httpx.URL(url)  # what the client will parse: control characters, bad ports, ...
    except (ValueError, httpx.InvalidURL) as exc:
        raise RefusedAddress(f"not a valid URL: {url!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise RefusedAddress(f"only http and https URLs with a host are fetched, not {url!r}")
    return hostname


def _result(
    url: str, final_url: str, response: httpx.Response, hops: tuple[tuple[int, str], ...],
    settings: Settings, deadline: _Deadline,
) -> FetchResult:
    status = response.status_code
    headers = dict(response.headers)
    if status == 304:
        return FetchResult(final_url, 304, b"", headers, hops)
    if status >= 300:
        retry_after = _retry_after(headers.get("retry-after")) if status in RETRY_AFTER_STATUSES else None
        shown = url if final_url == url else f"{url} (redirected to {final_url})"
        raise FetchError(f"{shown}: HTTP {status} {response.reason_phrase}".rstrip(), kind="http",
                         status=status, retry_after=retry_after)
    body = _read_capped(response, settings.fetch_max_bytes, url, deadline, settings)
    return FetchResult(final_url, status, body, headers, hops)


def _read_capped(
    response: httpx.Response, limit: int, url: str, deadline: _Deadline, settings: Settings,
) -> bytes:
    """Read the body raw and decode it in bounded steps, stopping past `limit` decoded bytes."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(f"{url}: response of {declared} bytes is larger than {limit} bytes",
                         kind="too-large")
    try:
        decoder = decoder_for(response.headers.get("content-encoding"))
    except UnsupportedEncoding as exc:
        raise FetchError(f"{url}: {exc}", kind="network") from None
    chunks: list[bytes] = []
    size = 0
    raw_size = 0

    def add(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if size > limit:
            raise FetchError(f"{url}: decoded response larger than {limit} bytes", kind="too-large")
        chunks.append(piece)

    try:
        for raw in response.iter_raw(RAW_CHUNK):
            if deadline.expired:
                raise FetchError(_deadline_message(url, settings), kind="timeout")
            raw_size += len(raw)
            if raw_size > limit:
                raise FetchError(f"{url}: response larger than {limit} bytes", kind="too-large")
            for piece in decoder.feed(raw):
                add(piece)
        for piece in decoder.flush():
            add(piece)
    except CorruptBody as exc:
        raise FetchError(f"{url}: {exc}", kind="network") from None
    if deadline.expired:  # a body that ends at connection close "ended" because we cut it off
        raise FetchError(_deadline_message(url, settings), kind="timeout")
    return b"".join(chunks)


def _retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


parse_retry_after = _retry_after  # public name for the scheduler and tests


def _deadline_message(url: str, settings: Settings) -> str:
    return f"{url}: timed out (total deadline of {settings.fetch_total_timeout_seconds:g} s passed)"


class _Deadline:
    """The total time budget of one fetch, from the first request sent (not the wait for a
    politeness slot). When it passes, the backend's sockets are shut down, so even a read that
    receives a byte every second returns at once."""

    def __init__(self, seconds: float, backend: GuardedBackend) -> None:
        self._seconds = seconds
        self._backend = backend
        self._timer: threading.Timer | None = None
        self._ends_at: float | None = None

    def start(self) -> None:
        if self._timer is not None:
            return
        self._ends_at = time.monotonic() + self._seconds
        self._timer = threading.Timer(self._seconds, self._backend.abort)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._ends_at is not None and time.monotonic() >= self._ends_at

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def post_form(url: str, form: list[tuple[str, str]], *, settings: Settings | None = None) -> int:
    """POST an url-encoded form (a WebSub publish ping); returns the HTTP status. A repeated
    key (several hub.url) stays repeated. The hub is the operator's own setting, not untrusted
    input, so it may sit on a private network (a hub container beside the stack)."""
    settings = settings or get_settings()
    timeout = httpx.Timeout(settings.fetch_timeout_seconds, connect=settings.fetch_connect_timeout_seconds)
    body = urlencode(form).encode("ascii")
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            return client.post(url, content=body, headers=headers).status_code
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
