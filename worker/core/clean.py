"""The staged cleaner: raw article HTML in, safe article HTML and plain text out.

One lxml tree per article; every stage is a small function over that tree, in order:
parse (drops comments) -> site rules -> generic rules -> whitespace -> empty wrappers ->
absolute URLs -> serialise -> nh3 allow-list sanitiser (always last) ; text comes from the tree.
Each stage counts what it removed, so a stored article can say why it looks the way it does.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import re
from collections import Counter
from collections.abc import Iterable

import lxml.html
import nh3
from lxml import etree

from worker.core.rules import Rule
from worker.core.types import CleanedHtml
from worker.core.urls import strip_tracking

CLEANER_VERSION = "1"

_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_INDENT = " \t\r\n\f\u3000\xa0\u2002\u2003\u200b\ufeff"
_SPACE_RUN = re.compile(r"[ \t\r\n\f\u3000\xa0]+")

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "dd", "details", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
})
ACTIVE_TAGS = ("script", "style", "noscript", "template", "form", "input", "button", "select",
               "textarea", "object", "embed", "applet", "frame", "frameset", "meta", "link", "base",
               "svg", "math", "canvas", "dialog")
HTML5_VOID_UNKNOWN_TO_LIBXML2 = ("embed", "keygen")  # active, so removed; their "children" kept
VIDEO_HOSTS = ("youtube.com", "www.youtube.com", "www.youtube-nocookie.com", "player.vimeo.com",
               "player.bilibili.com", "v.qq.com", "www.dailymotion.com")
TRACKER_HOSTS = ("feeds.feedburner.com", "pixel.wp.com", "stats.wordpress.com", "www.google-analytics.com",
                 "pixel.quantserve.com", "sb.scorecardresearch.com", "feedsportal.com", "beacon.sina.com.cn")
LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-echo", "file")
COLLAPSIBLE = frozenset({"div", "span", "p", "font", "section", "strong", "b", "em", "i", "a", "center",
                         "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "u"})
KEEP_EMPTY = frozenset({"img", "br", "hr", "iframe", "video", "audio", "source", "td", "th"})

_SANITIZER = nh3.Cleaner(
    tags={"a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
          "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img",
          "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
          "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul"},
    clean_content_tags={"script", "style"},
    attributes={"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
                "iframe": {"src", "width", "height", "allowfullscreen"}, "td": {"colspan", "rowspan"},
                "th": {"colspan", "rowspan"}, "ol": {"start"}, "blockquote": {"cite"},
                "q": {"cite"}, "time": {"datetime"}},
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)


def clean_html(raw: str, rules: Iterable[Rule] = (), base_url: str | None = None) -> CleanedHtml:
    """Clean one article body. Pure and idempotent: clean_html(out.html) gives out again."""
    body = parse_body(raw)
    if body is None:
        return CleanedHtml(html="", text="")
    removed: Counter[str] = Counter()
    for rule in rules:
        apply_rule(body, rule, removed)
    apply_generic_rules(body, removed)
    normalise_whitespace(body)
    collapse_empty(body, removed)
    if base_url:
        absolutise_urls(body, base_url)
    safe = _drop_emptied(_SANITIZER.clean(serialise_children(body)))
    return CleanedHtml(html=safe, text=extract_text(body), removed=dict(removed))


# Not allowed in XML: lxml refuses to set a text node holding one, and a feed writer would emit
# invalid XML (tests/test_fuzz.py once reported `\x08` crashing here; docs/reliability.md).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# The sanitiser re-parses as HTML5 and drops tags it does not allow (`<font>`), which can leave
# elements empty that collapse_empty never saw empty; a second clean removed them, so cleaning
# was not idempotent (`<p><font><p>0`). Found by tests/test_fuzz.py. Attribute-less only: the
# sanitiser's output of these tags carries none.
_EMPTIED = re.compile(r"<(p|div|span|strong|b|em|i|u|s|li|ul|ol|dl|dd|dt|blockquote|h[1-6]|small|code|pre|"
                      r"sub|sup|del|ins|mark|q|cite|abbr|kbd|figure|figcaption)>\s*</\1>")


def _drop_emptied(html: str) -> str:
    while True:
        shorter = _EMPTIED.sub("", html)
        if shorter == html:
            return html
        html = shorter


def parse_body(raw: str) -> lxml.html.HtmlElement | None:
    raw = _CONTROL_CHARS.sub("", _XML_DECLARATION.sub("", raw))
    if not raw.strip():
        return None
    try:
        doc = lxml.html.document_fromstring(raw, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    body = doc.find("body")
    if body is None:  # a document of only <head> content
        return None
    return body


def _drop(element: lxml.html.HtmlElement) -> None:
    if element.getparent() is not None:
        element.drop_tree()


def apply_rule(body: lxml.html.HtmlElement, rule: Rule, removed: Counter[str]) -> None:
    for selector in rule.remove:
        for element in selector.xpath(body):
            _drop(element)
            removed[f"{rule.name}: remove {selector.css}"] += 1
    for selector in rule.unwrap:
        for element in selector.xpath(body):
            if element.getparent() is not None:
                element.drop_tag()
                removed[f"{rule.name}: unwrap {selector.css}"] += 1
    for selector, tag in rule.rename:
        for element in selector.xpath(body):
            element.tag = tag
            element.attrib.clear()
    if rule.drop_text:
        for element in _leaf_blocks(body):
            text = _SPACE_RUN.sub(" ", element.text_content()).strip()
            for pattern in rule.drop_text:
                if pattern.search(text):
                    _drop(element)
                    removed[f"{rule.name}: drop_text {pattern.pattern}"] += 1
                    break


def _leaf_blocks(body: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    """Block elements with no block inside: text rules act on the smallest block, never on a
    wrapper that happens to contain the matching line along with the whole article."""
    blocks = []
    for element in body.iter(*(BLOCK_TAGS - {"body", "br", "hr"})):
        if not any(isinstance(d.tag, str) and d.tag in BLOCK_TAGS and d.tag not in ("br", "hr")
                   for d in element.iterdescendants()):
            blocks.append(element)
    return blocks


def apply_generic_rules(body: lxml.html.HtmlElement, removed: Counter[str]) -> None:
    for element in body.iter(*ACTIVE_TAGS):
        removed[f"generic: {element.tag}"] += 1
    # libxml2's HTML 4 parser does not know these HTML5 void elements: it nests everything that
    # follows one inside it, so removing it whole would drop the rest of the article.
    etree.strip_tags(body, *HTML5_VOID_UNKNOWN_TO_LIBXML2)
    etree.strip_elements(body, *ACTIVE_TAGS, with_tail=False)
    for iframe in list(body.iter("iframe")):
        if _host(iframe.get("src", "")) not in VIDEO_HOSTS:
            _drop(iframe)
            removed["generic: iframe"] += 1
    for img in list(body.iter("img")):
        _fix_lazy_image(img)
        if _is_tracking_pixel(img):
            _drop(img)
            removed["generic: tracking pixel"] += 1
    for anchor in body.iter("a"):
        href = anchor.get("href")
        if href:
            cleaned = strip_tracking(href)
            if cleaned != href:
                anchor.set("href", cleaned)
                removed["generic: tracking parameters"] += 1


def _host(url: str) -> str:
    match = re.match(r"^(?:https?:)?//([^/:?#]+)", url.strip(), re.I)
    return match.group(1).lower() if match else ""


def _fix_lazy_image(img: lxml.html.HtmlElement) -> None:
    """Lazy-load markup keeps the real URL in data-*; a placeholder or nothing sits in src."""
    src = img.get("src", "")
    for attr in LAZY_SRC_ATTRS:
        value = img.get(attr, "").strip()
        if value and not value.startswith("data:"):
            img.set("src", value)
            return
    if (not src or src.startswith("data:")) and img.get("srcset"):
        first = img.get("srcset", "").split(",")[0].strip().split(" ")[0]
        if first:
            img.set("src", first)


def _is_tracking_pixel(img: lxml.html.HtmlElement) -> bool:
    if img.get("width", "").strip() in ("0", "1") and img.get("height", "").strip() in ("0", "1"):
        return True
    host = _host(img.get("src", ""))
    return any(host == t or host.endswith("." + t) for t in TRACKER_HOSTS)


def normalise_whitespace(body: lxml.html.HtmlElement) -> None:
    """Drop indentation (U+3000 and friends) at the start of every block and after <br>."""
    for element in body.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in BLOCK_TAGS and element.text:
            element.text = element.text.lstrip(_INDENT)
        if element.tag in BLOCK_TAGS and element.tail:
            element.tail = element.tail.lstrip(_INDENT)
        # `<p>　　<font>heading</font></p>`: the indentation sits before an inline child
        if (element.tag in BLOCK_TAGS and len(element) and element[0].tag not in BLOCK_TAGS
                and not (element.text or "").strip(_INDENT)):
            element.text = None


def collapse_empty(body: lxml.html.HtmlElement, removed: Counter[str]) -> None:
    for element in reversed(list(body.iter())):
        if element is body or not isinstance(element.tag, str) or element.tag not in COLLAPSIBLE:
            continue
        if len(element) == 0 and not (element.text or "").strip(_INDENT):
            _drop(element)
            removed["generic: empty wrapper"] += 1


def absolutise_urls(body: lxml.html.HtmlElement, base_url: str) -> None:
    # An unusable base URL leaves links as they are; the sanitiser still vets them.
    with contextlib.suppress(ValueError):
        body.make_links_absolute(base_url, resolve_base_href=False, handle_failures="discard")


def serialise_children(body: lxml.html.HtmlElement) -> str:
    parts = [html_lib.escape(body.text or "", quote=False)]
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in body)
    return "".join(parts)


def extract_text(body: lxml.html.HtmlElement) -> str:
    """Plain text, one line per block, indentation and blank lines gone."""
    chunks: list[str] = []
    for event, element in etree.iterwalk(body, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        if event == "start":
            if element.tag in BLOCK_TAGS:
                chunks.append("\n")
            chunks.append(element.text or "")
        else:
            if element.tag in BLOCK_TAGS:
                chunks.append("\n")
            if element is not body:
                chunks.append(element.tail or "")
    lines = (_SPACE_RUN.sub(" ", line).strip() for line in "".join(chunks).split("\n"))
    return "\n".join(line for line in lines if line)
