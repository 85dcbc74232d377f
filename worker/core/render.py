"""FeedMeta + FeedItems -> feed document bytes: Atom 1.0, RSS 2.0 and JSON Feed 1.1.

Pure functions: the same input always gives the same bytes (the web app derives its ETag from
them), so nothing here reads the clock, the network, the database or the filesystem.

Every string passes through `clean_text` on its way out, because stored articles can carry
characters that XML 1.0 forbids (lxml refuses them) or that UTF-8 cannot encode (lone
surrogates), and one feed must not break on one bad article.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from lxml import etree

from worker.core.types import FeedItem, FeedMeta

FEED_MEDIA_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}

GENERATOR = "feedwash"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005 feed history
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Link relations the renderers emit themselves from FeedMeta; `links` must not repeat them.
_OWN_RELS = frozenset({"self", "alternate"})

# Characters outside XML 1.0's Char production (tab, LF and CR are allowed), plus lone
# surrogates, which Python strings can hold but UTF-8 cannot encode.
_ILLEGAL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

Links = Mapping[str, str]


def clean_text(value: str) -> str:
    """`value` without the characters XML 1.0 forbids (see `_ILLEGAL_CHARS`)."""
    return _ILLEGAL_CHARS.sub("", value)


def _utc(value: datetime) -> datetime:
    # A naive datetime would be read in the host's zone: output would depend on the machine.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: feed dates must be timezone-aware")
    return value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    """`2024-05-01T08:30:00Z`: Atom and JSON Feed dates, whole seconds, in UTC."""
    return _utc(value).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rfc822(value: datetime) -> str:
    """`Wed, 01 May 2024 08:30:00 GMT`: RSS 2.0 dates, in UTC."""
    return format_datetime(_utc(value), usegmt=True)


def _extra_links(links: Links | None) -> list[tuple[str, str]]:
    """(rel, href) pairs of `links`, in the caller's order."""
    if not links:
        return []
    repeated = _OWN_RELS.intersection(links)
    if repeated:
        raise ValueError(f"links must not contain {sorted(repeated)}: they come from FeedMeta")
    return list(links.items())


# --- XML -------------------------------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """Append a child element; its text and attribute values are cleaned first."""
    child = etree.SubElement(parent, tag, {k: clean_text(v) for k, v in attrs.items()})
    if text is not None:
        child.text = clean_text(text)
    return child


def _to_bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _atom(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _atom_entry(feed: etree._Element, item: FeedItem) -> None:
    entry = _sub(feed, _atom("entry"))
    _sub(entry, _atom("id"), item.id)
    _sub(entry, _atom("title"), item.title)
    _sub(entry, _atom("link"), rel="alternate", type="text/html", href=item.link)
    _sub(entry, _atom("published"), rfc3339(item.published))
    _sub(entry, _atom("updated"), rfc3339(item.updated))
    if item.author:
        _sub(_sub(entry, _atom("author")), _atom("name"), item.author)
    for term in item.categories:
        _sub(entry, _atom("category"), term=term)
    if item.summary:  # optional in Atom when content is present
        _sub(entry, _atom("summary"), item.summary, type="text")
    # type="html": the markup travels as escaped text, which lxml does for us.
    _sub(entry, _atom("content"), item.html, type="html")
    for href in item.related_links:
        _sub(entry, _atom("link"), rel="related", href=href)
    if item.image:
        _sub(entry, f"{{{MEDIA_NS}}}thumbnail", url=item.image)


def render_atom(meta: FeedMeta, items: Sequence[FeedItem], links: Links | None = None) -> bytes:
    """An Atom 1.0 (RFC 4287) document. `links` maps extra link relations (hub, next, ...)
    to their hrefs; self and alternate come from `meta`."""
    extra = _extra_links(links)
    nsmap: dict[str | None, str] = {None: ATOM_NS, "media": MEDIA_NS}
    if meta.archive:
        nsmap["fh"] = FH_NS
    feed = etree.Element(_atom("feed"), nsmap=nsmap)
    feed.set(XML_LANG, clean_text(meta.language))
    _sub(feed, _atom("id"), meta.id)
    _sub(feed, _atom("title"), meta.title)
    _sub(feed, _atom("subtitle"), meta.description)
    _sub(feed, _atom("updated"), rfc3339(meta.updated))
    _sub(feed, _atom("link"), rel="self", type="application/atom+xml", href=meta.self_url)
    _sub(feed, _atom("link"), rel="alternate", type="text/html", href=meta.home_url)
    for rel, href in extra:
        _sub(feed, _atom("link"), rel=rel, href=href)
    # RFC 4287 wants an author on every entry; a feed-level one covers entries without.
    _sub(_sub(feed, _atom("author")), _atom("name"), GENERATOR)
    _sub(feed, _atom("generator"), GENERATOR)
    if meta.archive:
        _sub(feed, f"{{{FH_NS}}}archive")
    for item in items:
        _atom_entry(feed, item)
    return _to_bytes(feed)


def _rss_item(channel: etree._Element, item: FeedItem) -> None:
    node = _sub(channel, "item")
    _sub(node, "title", item.title)
    _sub(node, "link", item.link)
    _sub(node, "description", item.html)
    _sub(node, "guid", item.id, isPermaLink="false")
    _sub(node, "pubDate", rfc822(item.published))
    if item.author:
        # RSS <author> must be an e-mail address; a display name goes in dc:creator.
        _sub(node, f"{{{DC_NS}}}creator", item.author)
    for term in item.categories:
        _sub(node, "category", term)
    # RSS has no related links of its own; Atom's element keeps them in this format too.
    for href in item.related_links:
        _sub(node, _atom("link"), rel="related", href=href)
    if item.image:
        _sub(node, f"{{{MEDIA_NS}}}thumbnail", url=item.image)


def render_rss(meta: FeedMeta, items: Sequence[FeedItem], links: Links | None = None) -> bytes:
    """An RSS 2.0 document; self and extra links as atom:link elements."""
    extra = _extra_links(links)
    nsmap = {"atom": ATOM_NS, "dc": DC_NS, "media": MEDIA_NS}
    if meta.archive:
        nsmap["fh"] = FH_NS
    rss = etree.Element("rss", {"version": "2.0"}, nsmap=nsmap)
    channel = _sub(rss, "channel")
    _sub(channel, "title", meta.title)
    _sub(channel, "link", meta.home_url)
    _sub(channel, "description", meta.description)
    _sub(channel, "language", meta.language)
    _sub(channel, "lastBuildDate", rfc822(meta.updated))
    _sub(channel, "generator", GENERATOR)
    _sub(channel, _atom("link"), rel="self", type="application/rss+xml", href=meta.self_url)
    for rel, href in extra:
        _sub(channel, _atom("link"), rel=rel, href=href)
    if meta.archive:
        _sub(channel, f"{{{FH_NS}}}archive")
    for item in items:
        _rss_item(channel, item)
    return _to_bytes(rss)


# --- JSON Feed -------------------------------------------------------------------------------


def _clean_json(value: Any) -> Any:
    """`value` with every string in it cleaned: the extension dict is free-form."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Mapping):
        return {_clean_json(k): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


def _json_item(item: FeedItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": clean_text(item.id),
        "url": clean_text(item.link),
        "title": clean_text(item.title),
        "content_html": clean_text(item.html),
        "date_published": rfc3339(item.published),
        "date_modified": rfc3339(item.updated),
    }
    # JSON Feed readers treat a missing key and an empty value alike; omit to stay small.
    if item.summary:
        out["summary"] = clean_text(item.summary)
    if item.image:
        out["image"] = clean_text(item.image)
    if item.author:
        out["authors"] = [{"name": clean_text(item.author)}]
    if item.categories:
        out["tags"] = [clean_text(t) for t in item.categories]
    if item.extension:
        out["_feedwash"] = _clean_json(item.extension)
    return out


def render_json(meta: FeedMeta, items: Sequence[FeedItem], links: Links | None = None) -> bytes:
    """A JSON Feed 1.1 document. Of `links`, only "next" (next_url) and "hub" (hubs) have a
    place in the format; other relations are left out."""
    extra = dict(_extra_links(links))
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": clean_text(meta.title),
        "home_page_url": clean_text(meta.home_url),
        "feed_url": clean_text(meta.self_url),
        "description": clean_text(meta.description),
        "language": clean_text(meta.language),
    }
    if "next" in extra:
        feed["next_url"] = clean_text(extra["next"])
    if "hub" in extra:
        feed["hubs"] = [{"type": "WebSub", "url": clean_text(extra["hub"])}]
    feed["items"] = [_json_item(item) for item in items]
    # allow_nan=False: NaN in an extension would otherwise produce invalid JSON.
    text = json.dumps(feed, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


# --- dispatch --------------------------------------------------------------------------------

Renderer = Callable[[FeedMeta, Sequence[FeedItem], Links | None], bytes]
_RENDERERS: dict[str, Renderer] = {"atom": render_atom, "rss": render_rss, "json": render_json}


def render(
    fmt: str, meta: FeedMeta, items: Sequence[FeedItem], links: Links | None = None
) -> bytes:
    """The feed in format `fmt` ("atom", "rss" or "json"; the keys of FEED_MEDIA_TYPES)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown feed format {fmt!r}; expected one of {sorted(_RENDERERS)}"
        ) from None
    return renderer(meta, items, links)
