"""Output feeds -> an OPML 2.0 document readers import to subscribe to all of them at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from worker.core.render import clean_text


@dataclass(frozen=True)
class OpmlFeed:
    title: str
    xml_url: str
    html_url: str
    group: str  # the outline folder: "All", "Categories", "Sources"


def render_opml(title: str, feeds: Sequence[OpmlFeed], feed_type: str = "rss") -> bytes:
    """OPML 2.0 (opml.org/spec2): one folder outline per group, one outline per feed. `feed_type`
    is OPML's `type` attribute, "rss" for any syndication format by convention."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = clean_text(title)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for feed in feeds:
        if feed.group not in folders:
            folders[feed.group] = etree.SubElement(body, "outline", text=feed.group, title=feed.group)
        name = clean_text(feed.title)
        etree.SubElement(folders[feed.group], "outline", type=feed_type, text=name, title=name,
                         xmlUrl=clean_text(feed.xml_url), htmlUrl=clean_text(feed.html_url))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
