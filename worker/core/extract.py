"""Page HTML -> the article's HTML (issue 8). Pure: no network, the page comes in as text.

A site rule's `content` selector wins when it matches (exact, and as cheap as a lookup);
otherwise readability-lxml scores the page's blocks and keeps the main one. The result is raw
article HTML: it still goes through the cleaner (worker.core.clean) like any feed body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import lxml.html
from lxml import etree

from worker.core.rules import Rule, matching_rules

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False)
READABILITY = "readability"


@dataclass(frozen=True)
class Extraction:
    html: str
    method: str  # "rule <name>" or "readability"

    @property
    def content_source(self) -> str:
        """As stored on the article and shown by `feedwash explain`."""
        return f"page ({self.method})"


def extract_main_content(
    page: str, urls: Iterable[str | None], rules: Iterable[Rule], categories: Iterable[str] = (),
) -> Extraction | None:
    """The article HTML of a decoded page, or None when the page has no discernible body."""
    page = _XML_DECLARATION.sub("", page)
    if not page.strip():
        return None
    for rule in matching_rules(rules, urls, categories):
        found = by_rule(page, rule)
        if found is not None:
            return found
    return by_readability(page)


def by_rule(page: str, rule: Rule) -> Extraction | None:
    if not rule.content:
        return None
    try:
        doc = lxml.html.document_fromstring(page, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    for selector in rule.content:
        elements = _outermost(selector.xpath(doc))
        if elements:
            html = "".join(lxml.html.tostring(e, encoding="unicode", with_tail=False) for e in elements)
            return Extraction(html, f"rule {rule.name}")
    return None


def _outermost(elements: list[lxml.html.HtmlElement]) -> list[lxml.html.HtmlElement]:
    """Matches without a matching ancestor: `.post_content` nested twice is one body, not two."""
    chosen = set(elements)
    return [e for e in elements if not any(a in chosen for a in e.iterancestors())]


def by_readability(page: str) -> Extraction | None:
    # Imported here: readability's module imports urllib.request (for its own command line, which
    # fetches URLs); we only ever hand it text, and the core's modules stay free of I/O imports.
    from readability import Document
    from readability.readability import Unparseable

    try:
        html = Document(page).summary(html_partial=True)
    except (Unparseable, etree.ParserError, ValueError, TypeError):
        return None
    return Extraction(html, READABILITY) if html.strip() else None
