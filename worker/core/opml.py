"""OPML 2.0 subscription lists, both ways, with categories (pure: bytes in, bytes out).

A feed's categories come from its enclosing folders (nested outlines without xmlUrl, joined with
"/") and from its `category` attribute (OPML 2.0: comma-separated, slash-delimited paths). Export
nests each feed in the folders of its first category and writes all of them in `category`, so an
export imports back to the same categories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from worker.core.render import clean_text
from worker.core.types import InputError


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str | None = None
    categories: tuple[str, ...] = ()
    html_url: str | None = None


def _safe_parser() -> etree.XMLParser:
    # No entity expansion, no DTD loading, no network: an OPML file is untrusted input.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_opml(data: bytes, name: str) -> list[OpmlFeed]:
    """Every feed outline in document order; a file that is not OPML is an InputError naming it."""
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"{name}: not an OPML file ({exc})") from None
    body = root.find("body") if root.tag == "opml" else None
    if body is None:
        raise InputError(f"{name}: not an OPML file (no <opml><body>)")
    feeds: list[OpmlFeed] = []
    _walk(body, (), feeds)
    return feeds


def _walk(parent: etree._Element, folders: tuple[str, ...], feeds: list[OpmlFeed]) -> None:
    for outline in parent.iterfind("outline"):
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            _walk(outline, (*folders, label) if label else folders, feeds)
            continue
        categories = ["/".join(folders)] if folders else []
        categories += split_categories(outline.get("category"))
        title = label if label and label != url else None  # text=URL: what an untitled feed exports
        feeds.append(OpmlFeed(url, title, tuple(dict.fromkeys(categories)),
                              outline.get("htmlUrl") or None))


def split_categories(value: str | None) -> list[str]:
    parts = (part.strip().strip("/") for part in (value or "").split(","))
    return [part for part in parts if part]


def render_opml(feeds: Iterable[OpmlFeed], title: str, now: datetime) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = clean_text(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    folders: dict[tuple[str, ...], etree._Element] = {(): body}
    for feed in feeds:
        path = tuple(p for p in feed.categories[0].split("/") if p) if feed.categories else ()
        outline = etree.SubElement(_folder(folders, path), "outline", type="rss",
                                   text=clean_text(feed.title or feed.url), xmlUrl=clean_text(feed.url))
        if feed.title:
            outline.set("title", clean_text(feed.title))
        if feed.html_url:
            outline.set("htmlUrl", clean_text(feed.html_url))
        if feed.categories:
            outline.set("category", clean_text(",".join(f"/{c}" for c in feed.categories)))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _folder(folders: dict[tuple[str, ...], etree._Element], path: Sequence[str]) -> etree._Element:
    key = tuple(path)
    if key not in folders:
        parent = _folder(folders, key[:-1])
        folders[key] = etree.SubElement(parent, "outline", text=key[-1], title=key[-1])
    return folders[key]
