"""Canonical URL: the second exact identity key, after the content hash.

The source's own rel="canonical" wins over the item link; tracking parameters, the fragment and
case differences in scheme and host are removed. A site's front page is never an article's
canonical URL (feeds that link every item to the home page would otherwise fold into one).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from worker.core.types import ParsedEntry
from worker.core.urls import strip_tracking

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(entry: ParsedEntry) -> str | None:
    for candidate in (entry.canonical_link, entry.link):
        url = normalise_url(candidate) if candidate else None
        if url:
            return url
    return None


def normalise_url(url: str) -> str | None:
    """`url` in canonical form, or None when it cannot identify one article."""
    try:
        parts = urlsplit(strip_tracking(url.strip()))
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    path = parts.path or "/"
    if path == "/" and not parts.query:
        return None  # a front page, not an article
    host = parts.hostname.lower()
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, path, parts.query, ""))
