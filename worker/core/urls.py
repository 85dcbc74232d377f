"""URL hygiene: tracking parameters out, so one article has one canonical link."""

from __future__ import annotations

import string
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the resource. Sources: Miniflux's
# internal/reader/urlcleaner, ClearURLs' generic rules. Prefixes end with "_".
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "spm", "scm", "from", "share_token",
    "share_source", "share_medium", "vd_source", "wfr", "ref_src", "ref_url", "__twitter_impression",
    "si", "oly_enc_id", "oly_anon_id", "rb_clickid", "s_cid", "vero_conv", "vero_id", "_openstat",
    "cmpid", "ncid", "sr_share", "ito", "wt_mc", "wt.mc_id",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci", "matomo_")


def web_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None: a `javascript:` or `data:` item link
    would otherwise be republished as a link that readers open."""
    if not url:
        return None
    stripped = url.strip()
    if _plain_split(stripped) is not None:
        return url
    try:
        scheme = urlsplit(stripped).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """`url` without tracking query parameters; anything unparseable is returned as it was."""
    if "?" not in url:
        return url
    plain = _plain_split(url)
    if plain is not None and _is_plain_query(plain[3]):
        return _strip_plain(url, plain)
    return strip_tracking_by_urllib(url)


def strip_tracking_by_urllib(url: str) -> str:
    """strip_tracking for any URL, through urllib (the fast path above must agree with it)."""
    if "?" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if not is_tracking_param(k)]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def join_url(base: str, url: str) -> str:
    """urljoin(base, url). A plain absolute http(s) URL (below) against a plain base is its own
    join: urljoin returns it as it is (another scheme) or rebuilt from its parts (the same
    scheme), and the rebuilt form differs only by an empty "?", "#" or ";" (path parameters),
    which it drops. 0.0039 -> 0.0018 ms per feed item."""
    plain = _plain_split(url)
    if plain is not None and _plain_split(base) is not None:
        _scheme, _netloc, path, query, fragment = plain
        if ";" not in path and (query or "?" not in url) and (fragment or not url.endswith("#")):
            return url
    return urljoin(base, url)


def host(url: str) -> str:
    """The lower-cased host of `url` (urlsplit's hostname, "" if none); ValueError as urlsplit."""
    plain = _plain_split(url)
    if plain is not None:
        return plain[1].rpartition("@")[2].partition(":")[0].lower()
    return (urlsplit(url).hostname or "").lower()


# ---- the plain case without urllib's machinery -----------------------------------------------
# Most links are ASCII http(s) URLs with a host and a query of plain names and values. For those,
# urlsplit, parse_qsl and urlencode reduce to splitting at "/?#", "&" and "=": the functions above
# take that path (tests/test_urls.py checks it against urllib on tricky URLs), everything else
# goes through urllib.

# Characters that percent-decoding, "+" decoding and quote_plus all leave as they are.
_PLAIN_QUERY_CHARS = frozenset(string.ascii_letters + string.digits + "_.-~" + "=&")


def _plain_split(url: str) -> tuple[str, str, str, str, str] | None:
    """urlsplit(url) as (scheme, netloc, path, query, fragment) when `url` is ASCII, starts with
    "http://" or "https://" (lower case), has a host, no tab, CR or LF (urlsplit deletes them) and
    no square brackets (IPv6 hosts, which urlsplit validates); None otherwise."""
    if url.startswith("https://"):
        scheme, start = "https", 8
    elif url.startswith("http://"):
        scheme, start = "http", 7
    else:
        return None
    if not url.isascii() or "\t" in url or "\r" in url or "\n" in url:
        return None
    end = len(url)
    for delimiter in "/?#":
        found = url.find(delimiter, start)
        if 0 <= found < end:
            end = found
    netloc, rest = url[start:end], url[end:]
    if not netloc or "[" in netloc or "]" in netloc:
        return None
    rest, _, fragment = rest.partition("#")
    path, _, query = rest.partition("?")
    return scheme, netloc, path, query, fragment


def _is_plain_query(query: str) -> bool:
    return _PLAIN_QUERY_CHARS.issuperset(query) and all(pair.count("=") <= 1 for pair in query.split("&"))


def _strip_plain(url: str, parts: tuple[str, str, str, str, str]) -> str:
    """strip_tracking of a URL that _plain_split split and whose query _is_plain_query."""
    scheme, netloc, path, query, fragment = parts
    pairs = [pair.partition("=")[::2] for pair in query.split("&") if pair]  # as parse_qsl
    kept = [(name, value) for name, value in pairs if not is_tracking_param(name)]
    if len(kept) == len(pairs):
        return url
    new_query = "&".join(f"{name}={value}" for name, value in kept)  # as urlencode
    # as urlunsplit: "?" and "#" only before something
    return (f"{scheme}://{netloc}{path}" + (f"?{new_query}" if new_query else "")
            + (f"#{fragment}" if fragment else ""))
