"""The only HTTP client code: one GET with timeouts, a size cap and conditional headers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx

from worker import USER_AGENT
from worker.settings import Settings, get_settings

ACCEPT = ("application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
          "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5")


class FetchError(Exception):
    """The source could not be fetched; the message says why and names the URL.

    `kind` is one of: "http", "timeout", "network", "too-large", "redirects", "refused-address".
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
    content: bytes  # empty on 304
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    redirects: tuple[tuple[int, str], ...] = ()  # every hop: (status, absolute target URL)
    elapsed: float = 0.0  # seconds from sending the request to the end of the body (metrics)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(
    url: str, *, etag: str | None = None, last_modified: str | None = None,
    settings: Settings | None = None,
) -> FetchResult:
    settings = settings or get_settings()
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = httpx.Timeout(settings.fetch_timeout_seconds, connect=settings.fetch_connect_timeout_seconds)
    started = time.perf_counter()
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=True, max_redirects=settings.fetch_max_redirects
        ) as client, client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return FetchResult(str(response.url), 304, b"", dict(response.headers),
                                   elapsed=time.perf_counter() - started)
            if response.status_code >= 400:
                raise FetchError(f"{url}: HTTP {response.status_code} {response.reason_phrase}",
                                 kind="http", status=response.status_code)
            body = _read_capped(response, settings.fetch_max_bytes, url)
            return FetchResult(str(response.url), response.status_code, body, dict(response.headers),
                               elapsed=time.perf_counter() - started)
    except httpx.TooManyRedirects:
        raise FetchError(f"{url}: more than {settings.fetch_max_redirects} redirects") from None
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url}: timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None


def _read_capped(response: httpx.Response, limit: int, url: str) -> bytes:
    """Read the *decoded* body, stopping at `limit` bytes: a gzip bomb is cut off, not inflated."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise FetchError(f"{url}: response larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)



def post_form(url: str, form: list[tuple[str, str]], *, settings: Settings | None = None) -> int:
    """POST an url-encoded form (a WebSub publish ping); returns the HTTP status. A repeated
    key (several hub.url) stays repeated."""
    settings = settings or get_settings()
    timeout = httpx.Timeout(settings.fetch_timeout_seconds, connect=settings.fetch_connect_timeout_seconds)
    body = urlencode(form).encode("ascii")
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
    try:
        with httpx.Client(timeout=timeout) as client:
            return client.post(url, content=body, headers=headers).status_code
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
