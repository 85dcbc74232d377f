"""The staged cleaner: raw article HTML in, safe article HTML and plain text out.

One lxml tree per article; every stage is a small function over that tree, in order:
decode -> parse (drops comments) -> active content -> HTML5 structure -> site rules -> generic
rules -> allowed tags -> empty wrappers and whitespace -> wrapper divs -> absolute URLs ->
serialise -> nh3 allow-list sanitiser (always last, and the only gate safety relies on: the
earlier stages decide what is article, nh3 decides what is safe) -> text of the sanitised HTML.
Each stage records what it removed (a count and a sample), so a stored article can say why it
looks the way it does (issue 4, "provenance").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Set
from typing import TypeAlias
from urllib.parse import urljoin

import nh3
from lxml import etree

from worker.core.plaintext import BLOCK_TAGS, folded, text_of_html
from worker.core.rules import AttributeFilter, Rule
from worker.core.types import CleanedHtml
from worker.core.urls import strip_tracking

# Bump whenever a change here or in the shipped rules changes output: `feedwash reclean` and the
# stored provenance tell articles cleaned by an older cleaner apart by it.
CLEANER_VERSION = "2"
SAMPLE_CHARS = 80

# Plain lxml.etree elements, not lxml.html's: its per-element class lookup cost a tenth of the
# cleaner's time, for helpers (drop_tag, text_content, ...) that are a few lines each below.
# collect_ids=False: no table of id attributes (nothing here looks elements up by id; building
# it was a sixth of the parse).
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False,
                           collect_ids=False)
# The same parser told its input is UTF-8 bytes, which it parses faster than a str (that reaches
# libxml2 as UTF-16 or UCS-4). The encoding is forced, as for a str: a <meta charset> is ignored.
_UTF8_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False,
                                collect_ids=False, encoding="utf-8")
Element: TypeAlias = etree._Element
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
# C0 controls other than \t \n \r: invalid in XML output (Atom/RSS writers raise) and never text.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Character references to those characters (`&#12;`, `&#x1F`, with or without the `;`): the
# parser would decode them into the tree, where lxml refuses to write such text back (ValueError,
# which crashed the indentation pass) and from where they reached the stored HTML and XML feeds.
# They go before parsing, like the characters themselves.
_CONTROL_REF = (r"&#(?:0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|127)(?![0-9])"
                r"|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])(?![0-9a-fA-F]));?")
_CONTROL_REFS = re.compile(_CONTROL_REF)
_CONTROL_REF_BYTES = re.compile(_CONTROL_REF.encode())
_INDENT = " \t\r\n\f\u3000\xa0\u2002\u2003\u200b\ufeff"
_LEAF_CANDIDATES = tuple(BLOCK_TAGS - {"body", "br", "hr"})
# Removed with their content. Raw-text and legacy containers are here too, because lxml and the
# HTML5 parser inside nh3 disagree about their content, and cleaning must be idempotent.
ACTIVE_TAGS = ("script", "style", "noscript", "template", "form", "input", "button", "select",
               "textarea", "object", "embed", "applet", "frame", "frameset", "meta", "link", "base",
               "svg", "math", "canvas", "dialog", "title", "head", "noembed", "noframes", "xmp",
               "plaintext", "param", "portal", "audio", "video", "source", "track")
# HTML5 void elements libxml2's HTML 4 parser does not know: it nests everything after one inside
# it, so removing it whole would drop the rest of the article. Their tag goes, the "children" stay.
HTML5_VOID_UNKNOWN_TO_LIBXML2 = ("embed", "keygen", "source", "track", "param")
VIDEO_HOSTS = frozenset({
    "youtube.com", "www.youtube.com", "www.youtube-nocookie.com", "player.vimeo.com",
    "player.bilibili.com", "v.qq.com", "www.dailymotion.com", "player.youku.com",
})
# Hosts whose images are never article content (counters and beacons). Subdomains match too.
TRACKER_HOSTS = ("feeds.feedburner.com", "feedburner.google.com", "pixel.wp.com", "stats.wordpress.com",
                 "www.google-analytics.com", "google-analytics.com", "pixel.quantserve.com",
                 "sb.scorecardresearch.com", "feedsportal.com", "beacon.sina.com.cn", "hm.baidu.com",
                 "cnzz.com", "c.statcounter.com", "mc.yandex.ru", "bat.bing.com", "www.facebook.com/tr",
                 "analytics.twitter.com", "pixel.mathtag.com", "counter.yadro.ru")
# Every tracker host has a dot, so "." + host ends with one exactly when the host or one of its
# parent domains of two labels or more is that tracker host.
_TRACKER_SUFFIXES = tuple("." + t for t in TRACKER_HOSTS if "/" not in t)
LAZY_SRC_ATTRS = ("data-src", "data-original", "data-lazy-src", "data-actualsrc", "data-echo",
                  "data-url", "file")
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
PLACEHOLDER_DATA_URI_CHARS = 256  # a data: image shorter than this is a spacer, not a picture
COLLAPSIBLE = frozenset({"div", "span", "p", "font", "section", "strong", "b", "em", "i", "a", "center",
                         "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "u",
                         "figure", "figcaption", "article", "header", "footer", "small", "sup", "sub"})
# Block containers the allow-list does not carry: they become <div>, so the block structure the text
# was extracted from survives the sanitiser (and cleaning the output again gives the same text).
DIV_LIKE = ("address", "article", "aside", "center", "details", "footer", "header", "hgroup", "main",
            "nav", "section", "summary")
_DATA_IMAGE = re.compile(r"^data:image/(?:png|gif|jpeg|jpg|webp|avif);base64,[a-z0-9+/=\s]*$", re.I)
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def _allow_data_images_only(tag: str, attribute: str, value: str) -> str | None:
    """nh3's URL schemes are global, so `data:` is allowed there and narrowed here: only a raster
    image, base64 encoded, in <img src>. Browsers ignore controls and spaces inside a scheme
    (`da\\tta:`), so the check looks at the value without them."""
    compact = _URL_NOISE.sub("", value).lower()
    if not compact.startswith("data:"):
        return value
    if tag == "img" and attribute == "src" and _DATA_IMAGE.match(value.strip()):
        return value
    return None


ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "iframe": {"src", "width", "height", "allowfullscreen"}, "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"}, "ol": {"start"}, "blockquote": {"cite"}, "q": {"cite"},
    "time": {"datetime"},
}
# An allowed video player still must not reach the reader's origin or open pop-ups unasked.
IFRAME_POLICY = {"sandbox": "allow-scripts allow-same-origin allow-popups", "loading": "lazy",
                 "referrerpolicy": "no-referrer"}
# nh3 appends those from a hash map, in an order that differs between Cleaner instances, so
# between worker processes: the same article got different stored HTML from each worker. They
# are always the tag's last three attributes (the allow-list drops any the input had), and are
# rewritten here in one order.
_IFRAME_POLICY_TAIL = re.compile(r'(?: (?:sandbox|loading|referrerpolicy)="[^"]*"){3}>')
_IFRAME_POLICY_HTML = "".join(f' {name}="{value}"' for name, value in IFRAME_POLICY.items()) + ">"
_SANITIZER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=ALLOWED_ATTRIBUTES,
    attribute_filter=_allow_data_images_only,
    url_schemes={"http", "https", "mailto", "data"},
    set_tag_attribute_values={"iframe": IFRAME_POLICY},
    link_rel="noopener noreferrer",
    strip_comments=True,
)


# (None of them is in ALLOWED_ATTRIBUTES; most common first, as counted in the rebuilt archive;
# the lazy-loading ones are dropped after _fix_lazy_image has read them.)
_DROPPED_ANYWAY = ("class", "style", "referrerpolicy", "data-srcset", "srcset", "target", "rel", "id",
                   "align", "data-original", "data-src", "cms-style")


class Removals:
    """Per rule: how many elements it removed and the start of the first one."""

    __slots__ = ("counts", "samples")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.samples: dict[str, str] = {}

    def add(self, key: str, element: Element | None = None, sample: str | None = None,
            count: int = 1) -> None:
        """`count` removals; `element` (or `sample`) is the first of them."""
        self.counts[key] = self.counts.get(key, 0) + count
        if key not in self.samples:
            self.samples[key] = sample if sample is not None else sample_of(element)


def sample_of(element: Element | None) -> str:
    """What a person would recognise: the element's text, else its start tag."""
    if element is None:
        return ""
    text = text_of_tree(element) if len(element) else element.text
    if text:
        text = folded(text)
    if not text:  # (Sina's empty quote spans: 0.9 instead of 1.4 µs hot, without folding "" or
        # the _Attrib proxy, and with a list for join instead of a generator.)
        attrs = " ".join([f'{k}="{v}"' for k, v in element.items()])
        text = f"<{element.tag}{' ' + attrs if attrs else ''}>"
    return text[:SAMPLE_CHARS]


def clean_html(raw: str, rules: Iterable[Rule] = (), base_url: str | None = None) -> CleanedHtml:
    """Clean one article body. Pure and idempotent: clean_html(out.html) gives out again."""
    body = _parse_article(raw)
    if body is None:
        return CleanedHtml(html="", text="")
    # Every stage walks the tree, and lxml makes a Python proxy for each element it hands out
    # unless one is alive already: holding them all for the whole clean makes every later walk
    # reuse them (about three times faster per element).
    proxies = list(body.iter())
    parsed_tags = {element.tag for element in proxies}  # lets stages skip walks that find nothing
    removed = Removals()
    remove_active_content(body, removed, parsed_tags)
    html5_structure(body, parsed_tags)
    body_text = None
    for rule in rules:
        body_text = apply_rule(body, rule, removed, body_text)
    apply_generic_rules(body, removed)
    tidy_blocks(body, removed, keep_allowed_tags(body))
    unwrap_wrapper_divs(body)
    # (Both give the image URLs, read in their walk: nothing after it changes an <img>'s src.)
    images = absolutise_urls(body, base_url) if base_url else https_for_protocol_relative(body)
    # The commonest attributes the sanitiser drops wherever they are, dropped here in one C call:
    # then neither the serialiser nor the sanitiser's parser spends time on them.
    etree.strip_attributes(body, *_DROPPED_ANYWAY)
    safe = _SANITIZER.clean(serialise_children(body))
    if "<iframe" in safe:
        safe = _IFRAME_POLICY_TAIL.sub(lambda _: _IFRAME_POLICY_HTML, safe)
    # (The text before the proxies go: freeing the removed subtrees first made it ~4 µs slower,
    # the sanitiser's output no longer in the CPU caches.)
    text = text_of_html(safe)
    del proxies
    return CleanedHtml(html=safe, text=text, removed=removed.counts,
                       samples=removed.samples, images=images)


def decode(raw: str) -> str:
    """Text the HTML parser can take. Entities, including the archiver's `&#123;`/`&#125;` brace
    escapes, are decoded by the parser itself: in text and attributes they become `{`/`}`; inside
    <style> and <script> (raw text, where the parser leaves them) they go with the element."""
    raw = _XML_DECLARATION.sub("", raw)
    return _CONTROL_CHARS.sub("", _CONTROL_REFS.sub("", raw) if "&#" in raw else raw)


# What decode() deletes, as UTF-8 bytes: each is one byte there and never part of a longer
# character, so deleting them from the encoded text is the same as deleting them before encoding.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# str.strip()'s whitespace plus the control characters: a body of only these is empty once decoded.
_BLANK_OR_CONTROL = "".join(
    {chr(c) for c in range(0x110000) if chr(c).isspace()} | {chr(b) for b in _CONTROL_BYTES})


def _parse_article(raw: str) -> Element | None:
    """parse_body(decode(raw)), with the control characters deleted from the UTF-8 bytes the
    parser gets (bytes.translate) instead of by a regex over the str: the same tree, faster."""
    raw = _XML_DECLARATION.sub("", raw)
    if not raw.strip(_BLANK_OR_CONTROL):
        return None
    try:
        data = raw.encode("utf-8").translate(None, _CONTROL_BYTES)
    except UnicodeEncodeError:  # a lone surrogate: only the str path takes it
        return parse_body(decode(raw))
    # (Unconditionally: the regex finds its `&#` prefix by a byte loop, 2.4 µs for an article,
    # where `b"&#" in data` took 7.3: CPython's substring search skips nothing in UTF-8 CJK text.)
    data = _CONTROL_REF_BYTES.sub(b"", data)
    try:
        doc = etree.fromstring(data, parser=_UTF8_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return _body_of(doc)


def parse_body(raw: str) -> Element | None:
    if not raw.strip():
        return None
    try:
        doc = etree.fromstring(raw, parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return _body_of(doc)


def _body_of(doc: Element | None) -> Element | None:
    if doc is None:
        return None
    for child in doc:  # doc.find("body"), without ElementPath's Python
        if child.tag == "body":
            return child
    return None  # a document of only <head> content


def text_content(element: Element) -> str:
    return "".join(element.itertext())


def utf8_text_of_tree(element: Element) -> bytes:
    """text_of_tree as UTF-8, as libxml2 builds it: for a whole article 2.4 µs instead of 6.4
    (no decoding), where only a substring test needs it. (UTF-8 is self-synchronising: one
    string's encoding is in another's exactly when the string is in the other.)"""
    return etree.tostring(element, method="text", encoding="utf-8", with_tail=False)


def text_of_tree(element: Element) -> str:
    """The same string as text_content, built by libxml2 and decoded once: for a whole article it
    is several times faster than joining itertext's pieces. (The text serialiser calls the same
    libxml2 function as XPath's string(), without an XPath context: 0.31 µs instead of 0.78 for a
    small element, 7 instead of 10 for an article.)"""
    return etree.tostring(element, method="text", encoding="unicode", with_tail=False)


def _append_after(previous: Element | None, parent: Element, text: str | None) -> None:
    if not text:
        return
    if previous is None:
        parent.text = (parent.text or "") + text
    else:
        previous.tail = (previous.tail or "") + text


def drop_tree(element: Element) -> None:
    """Remove the element and its content; the text after it stays."""
    parent = element.getparent()
    if parent is not None:
        _append_after(element.getprevious(), parent, element.tail)
        parent.remove(element)


def drop_tag(element: Element) -> None:
    """Remove the tag only: its text and children take its place (lxml.html's drop_tag)."""
    parent = element.getparent()
    if parent is None:
        return
    previous = element.getprevious()
    _append_after(previous, parent, element.text)
    if len(element):
        last = element[-1]
        last.tail = (last.tail or "") + (element.tail or "") or None
    else:
        _append_after(previous, parent, element.tail)
    index = parent.index(element)
    element.tail = None
    parent[index:index + 1] = list(element)


# A tag no parser produces: elements to unwrap are renamed to it, then one etree.strip_tags call
# unwraps them all in C (what drop_tag does one element at a time, in Python).
_UNWRAP_MARK = "feedwash-unwrap"


def _unwrap_all(body: Element, elements: list[Element]) -> None:
    """drop_tag for every element, in one C call. Same result as unwrapping them one by one:
    unwrapping moves text and children up and never changes which other elements are unwrapped."""
    if not elements:
        return
    for element in elements:
        element.tag = _UNWRAP_MARK
    etree.strip_tags(body, _UNWRAP_MARK)


_REMOVE_MARK = "feedwash-remove"


def _remove_all(body: Element, elements: list[Element], key: str, removed: Removals) -> None:
    """drop_tree for each element not inside another (XPath lists an element before its
    descendants; the old one-by-one loop skipped those as detached), in one C call: lxml's
    strip_elements keeps each tail where drop_tree put it, after the previous sibling."""
    if _mark_removals(body, elements, key, removed):
        _strip_marked(body)


def _mark_removals(body: Element, elements: list[Element], key: str, removed: Removals,
                   marked_before: bool = False) -> int:
    """_remove_all's choice and provenance, with the elements only marked: the caller strips them
    (several selectors' marks in one strip_elements). An element marked already, or inside one,
    counts as removed already, as it would once stripped. `marked_before`: whether elements
    marked earlier may still be in the tree. Returns how many it marked."""
    sample, count = "", 0
    for element in elements:
        if element is body or element.tag == _REMOVE_MARK:
            continue
        parent = element.getparent()
        while parent is not None and parent is not body and parent.tag != _REMOVE_MARK:
            parent = parent.getparent()
        if parent is body:
            if not count and key not in removed.samples:
                if marked_before and len(element) and next(element.iter(_REMOVE_MARK), None) is not None:
                    _strip_marked(body)  # its sample is of what is left of it then
                sample = sample_of(element)  # (before its tag changes)
            element.tag = _REMOVE_MARK
            count += 1
    if count:
        removed.add(key, sample=sample, count=count)
    return count


def _strip_marked(body: Element) -> None:
    etree.strip_elements(body, _REMOVE_MARK, with_tail=False)


def _drop(element: Element) -> None:
    if element.getparent() is not None:
        drop_tree(element)


def _attached(element: Element, body: Element) -> bool:
    """Still in the article? (Not the body itself, nor inside a subtree removed earlier.)"""
    parent = element.getparent()
    while parent is not None:
        if parent is body:
            return True
        parent = parent.getparent()
    return False


def apply_rule(body: Element, rule: Rule, removed: Removals, text: bytes | None = None) -> bytes | None:
    """Apply one rule. `text`, if given, is the body's text as it is now (as UTF-8, see
    utf8_text_of_tree); the return value is the body's text after the rule when it is known
    (None otherwise), so the next rule's drop_text pre-check need not build it again."""
    # The simple ones of the remove, unwrap and first rename selectors are all looked for before
    # any of them acts: they test an element's own tag and attributes (Finder), which removing
    # and unwrapping leave alone, so each finds what it would find when its turn came, plus
    # elements no longer in the article. Those are skipped (_remove_all, _attached); renaming
    # one changes nothing. The others (`p:first-child`, `div > p`) are looked for in their turn.
    found_all = rule.finder(body)
    to_remove, to_unwrap = found_all[:len(rule.remove)], found_all[len(rule.remove):]
    # Removals are marked selector by selector and stripped in one C call (each strip_elements
    # walks the whole article: ~2 µs), before anything that must not see them: an XPath, a
    # sample (_mark_removals), the unwraps (_attached).
    marked = False
    for selector, found in zip(rule.remove, to_remove, strict=True):
        if found is None:
            if marked:
                _strip_marked(body)
                marked = False
            found = selector.xpath(body)
        if found:
            if _mark_removals(body, found, f"{rule.name}: remove {selector.css}", removed, marked):
                marked = True
            text = None
    if marked:
        _strip_marked(body)
    unwrapping: list[Element] = []  # all unwrapped in one C call at the end (see _unwrap_all)
    for selector, found in zip(rule.unwrap, to_unwrap, strict=False):  # (then the first rename's)
        # (One an earlier selector unwraps is as good as gone; unwrapping inside an element
        # keeps its text, so its sample is the same before and after.)
        if found is None:  # (the earlier unwraps must be done for it to see the tree they leave)
            if unwrapping:
                etree.strip_tags(body, _UNWRAP_MARK)
                unwrapping = []
            found = selector.xpath(body)
        found = [e for e in found if e.tag != _UNWRAP_MARK and _attached(e, body)]
        if found:
            removed.add(f"{rule.name}: unwrap {selector.css}", found[0], count=len(found))
            for element in found:
                element.tag = _UNWRAP_MARK
            unwrapping += found
    if unwrapping:
        etree.strip_tags(body, _UNWRAP_MARK)
    for number, (selector, tag) in enumerate(rule.rename):
        found = found_all[-1] if number == 0 else None
        for element in found if found is not None else selector.xpath(body):
            if element is not body:
                element.tag = tag
                element.attrib.clear()
    for attribute_filter in rule.attributes:
        _filter_attributes(body, rule.name, attribute_filter, removed)
    # (Unwrapping, renaming and attribute filters leave the text as it was.)
    if rule.drop_text:
        text = _drop_text(body, rule, removed, text)
    return text


def _filter_attributes(
    body: Element, rule_name: str, f: AttributeFilter, removed: Removals
) -> None:
    for element in f.selector.xpath(body):
        for name, value in list(element.attrib.items()):
            unwanted = name in f.drop or (f.keep is not None and name not in f.keep)
            if unwanted and (f.when is None or f.when.search(value)):
                del element.attrib[name]
                removed.add(f"{rule_name}: attribute {name} of {f.selector.css}",
                            sample=f'{name}="{value[:SAMPLE_CHARS - len(name) - 3]}"')


def _drop_text(body: Element, rule: Rule, removed: Removals, text: bytes | None = None) -> bytes | None:
    """A leaf block that matches goes; in a block of <br>-separated lines (`0 likes<br>0 saves`
    under an image) only the matching lines go, so the image stays. `text`: the body's text as
    UTF-8, if known; returned when nothing could have changed it."""
    if rule.drop_text_needles is not None:  # cheap test first: can any pattern match at all?
        if text is None:
            text = utf8_text_of_tree(body)
        if not any(needle in text for needle in rule.drop_text_needles):
            return text
    lined = {br.getparent() for br in body.iter("br")}  # blocks of <br>-separated lines
    lined = {block for block in lined if block is not None and block.tag in BLOCK_TAGS}
    # In document order: which of two blocks gives the sample, and which lines of nested ones go,
    # depend on the order (a set's, which follows memory addresses, varied from run to run).
    for block in [e for e in body.iter() if e in lined] if len(lined) > 1 else lined:
        _drop_lines(block, rule, removed)
    for element in _leaf_blocks(body):
        if element in lined or not _attached(element, body):
            continue
        pattern = _matching_pattern(rule, text_content(element))
        if pattern is not None:
            removed.add(f"{rule.name}: drop_text {pattern}", element)
            _drop(element)
    return None


def _matching_pattern(rule: Rule, text: str) -> str | None:
    text = folded(text)
    return next((p.pattern for p in rule.drop_text if p.search(text)), None)


def _drop_lines(block: Element, rule: Rule, removed: Removals) -> None:
    lines: list[tuple[Element | None, list[Element]]] = [(None, [])]
    for child in block:  # (the <br> a line starts after, the inline elements on it)
        if child.tag == "br":
            lines.append((child, []))
        else:
            lines[-1][1].append(child)
    for start, elements in lines:
        if any(e.tag in BLOCK_TAGS for e in elements):
            continue  # a line with a block in it is not a line of text
        lead = block.text if start is None else start.tail
        text = (lead or "") + "".join(text_content(e) + (e.tail or "") for e in elements)
        pattern = _matching_pattern(rule, text)
        if pattern is None or not text.strip():
            continue
        sample = folded(text)[:SAMPLE_CHARS]
        removed.add(f"{rule.name}: drop_text {pattern}", sample=sample)
        for element in elements:
            element.tail = None
            drop_tree(element)
        if start is None:
            block.text = None
        else:  # the line's own <br> goes, so no blank line is left behind
            start.tail = None
            drop_tree(start)


def _leaf_blocks(body: Element) -> list[Element]:
    """Block elements with no block inside: text rules act on the smallest block, never on a
    wrapper that happens to contain the matching line along with the whole article.
    One pass: every block marks its ancestors as non-leaf (O(n), not O(n * descendants))."""
    blocks = list(body.iter(*_LEAF_CANDIDATES))
    wrappers: set[Element] = set()
    for element in blocks:
        if not _has_content(element):
            continue  # an empty block (collapsed later) does not make its parent a wrapper
        parent = element.getparent()
        while parent is not None and parent is not body and parent not in wrappers:
            wrappers.add(parent)
            parent = parent.getparent()
    return [e for e in blocks if e not in wrappers]


def _has_content(element: Element) -> bool:
    if text_content(element).strip(_INDENT):
        return True
    return next(element.iter("img", "iframe"), None) is not None


def remove_active_content(body: Element, removed: Removals, tags: Set[object] | None = None) -> None:
    """First of the generic rules, before site rules: text that is never displayed (scripts,
    styles, templates) must not take part in text matching. `tags`: the tags in the tree, if
    known (only those present are looked for: lxml sets up a matcher per tag name and call)."""
    active = ACTIVE_TAGS if tags is None else _ACTIVE_SET.intersection(tags)
    voids = HTML5_VOID_UNKNOWN_TO_LIBXML2 if tags is None else _VOID_UNKNOWN_SET.intersection(tags)
    if active:
        for element in body.iter(*active):
            removed.add(f"generic: {element.tag}", element)
    if voids:
        etree.strip_tags(body, *voids)
    if active:
        etree.strip_elements(body, *active, with_tail=False)


_ACTIVE_SET = frozenset(ACTIVE_TAGS)
_VOID_UNKNOWN_SET = frozenset(HTML5_VOID_UNKNOWN_TO_LIBXML2)


def _is_hidden(element: Element) -> bool:
    if element.get("hidden") is not None:
        return True
    style = element.get("style", "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def apply_generic_rules(body: Element, removed: Removals) -> None:
    # (Tested in Python: libxml2's XPath for `*[@hidden or @style]` costs more than this walk.)
    hidden = [element for element in body.iterdescendants(etree.Element)
              if (element.get("style") is not None or element.get("hidden") is not None)
              and _is_hidden(element)]
    if hidden:
        _remove_all(body, hidden, "generic: hidden element", removed)
    # One walk for the three kinds, each then handled in turn, as by a walk each: the same
    # elements, as long as none dropped held others (a parsed <iframe> holds text, an <img>
    # nothing; a rule's rename may make one that does, and then the next kind is walked again).
    found: dict[str, list[Element]] = {"iframe": [], "img": [], "a": []}
    for element in body.iter("iframe", "img", "a"):
        found[element.tag].append(element)
    for iframe in found["iframe"]:
        if _host(iframe.get("src", "")) not in VIDEO_HOSTS:
            removed.add("generic: iframe", iframe)
            _drop(iframe)
            if len(iframe):
                found["img"], found["a"] = list(body.iter("img")), list(body.iter("a"))
    for img in found["img"]:
        _fix_lazy_image(img)
        if _is_tracking_pixel(img):
            removed.add("generic: tracking pixel", img)
            _drop(img)
            if len(img):
                found["a"] = list(body.iter("a"))
    for anchor in found["a"]:
        href = anchor.get("href")
        if href:
            cleaned = strip_tracking(href)
            if cleaned != href:
                anchor.set("href", cleaned)
                removed.add("generic: tracking parameters", sample=href[:SAMPLE_CHARS])


_URL_HOST = re.compile(r"^(?:https?:)?//([^/:?#]+)", re.I)


def _host(url: str) -> str:
    match = _URL_HOST.match(url.strip())
    return match.group(1).lower() if match else ""


def _first_candidate(srcset: str) -> str:
    first = srcset.strip().split(",")[0].strip()
    return first.split()[0] if first else ""


def _fix_lazy_image(img: Element) -> None:
    """Lazy-load markup keeps the real URL in data-* or srcset; a placeholder or nothing sits in src."""
    names = img.keys()
    for attr in LAZY_SRC_ATTRS if not _LAZY_SRC_SET.isdisjoint(names) else ():
        value = img.get(attr, "").strip()
        if value and not value.startswith("data:"):
            img.set("src", value)
            return
    src = img.get("src", "").strip()
    if src and not src.startswith("data:"):
        return
    for attr in LAZY_SRCSET_ATTRS if not _LAZY_SRCSET_SET.isdisjoint(names) else ():
        first = _first_candidate(img.get(attr, ""))
        if first and not first.startswith("data:"):
            img.set("src", first)
            return


_LAZY_SRC_SET = frozenset(LAZY_SRC_ATTRS)
_LAZY_SRCSET_SET = frozenset(LAZY_SRCSET_ATTRS)


def _is_tracking_pixel(img: Element) -> bool:
    if img.get("width", "").strip() in ("0", "1") and img.get("height", "").strip() in ("0", "1"):
        return True
    src = img.get("src", "").strip()
    if not src or (src.startswith("data:") and len(src) < PLACEHOLDER_DATA_URI_CHARS):
        return True  # nothing to show, or a lazy-load spacer whose real URL never came
    if not _is_image_url(src):
        return True  # javascript:, data:text/html, ...: the sanitiser would leave a bare <img>
    host = _host(src)
    if not host:
        return False
    if ("." + host).endswith(_TRACKER_SUFFIXES):  # the host or a parent domain is a tracker's
        return True
    return host == "www.facebook.com" and "/tr" in src  # Meta's pixel lives on its main host


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)


def _is_image_url(src: str) -> bool:
    if src.startswith(("https://", "http://")):
        return True  # (what the rest finds for these, without the work)
    compact = _URL_NOISE.sub("", src).lower()
    scheme = _SCHEME.match(compact)
    if scheme is None:
        return True  # relative
    return scheme.group(1) in ("http", "https") or bool(_DATA_IMAGE.match(src.strip()))


def tidy_blocks(body: Element, removed: Removals, kept: Kept) -> None:
    """Two stages in one pass over the elements keep_allowed_tags kept, the last one first:
    - empty wrappers (left empty by the source or by earlier stages) go, and so do <br>s at the
      edges of a block, which only add blank lines;
    - indentation (U+3000 and friends) at the start of every block and after it goes. Paragraph
      structure is the elements themselves, so it is untouched.
    This is the first stage over the whole tree and then the second, in one pass (and reading
    each text once): an element's first step changes only its own content and what comes before
    it (its previous sibling's tail or its parent's text), so, last element first, an element's
    content and tail are final when its turn comes; and the second step changes only the leading
    text of a block and its tail, up to the first block inside it. (The one exception: a <br> at
    the edge of a block may still go after its turn; its tail, which becomes the block's text if
    the <br> leads, is then stripped already, as the block's own turn would strip it.)"""
    breaks = kept.breaks
    for element, tag in reversed(kept):
        is_block = tag in BLOCK_TAGS
        if is_block and breaks:
            _trim_edge_breaks(element)
        leaf = not len(element)
        if not (is_block or leaf):
            continue
        text = element.text
        # (One lstrip for both questions: empty of all but indentation, and where the text starts.)
        visible = text.lstrip(_INDENT) if text else None
        if not visible and leaf and tag in COLLAPSIBLE and element is not body:
            removed.add("generic: empty wrapper", sample=f"<{tag}>")
            _drop(element)
        elif is_block:
            if visible:  # the block starts with its own text
                if len(visible) != len(text):
                    element.text = visible
            else:  # (`<p>　　<font>heading</font>`: a third of Sina's paragraphs)
                if text:
                    element.text = None  # indentation only
                if not leaf:
                    _strip_inline_indent(element)
            tail = element.tail
            if tail and tail[0] in _INDENT:
                element.tail = tail.lstrip(_INDENT) or None


def _strip_inline_indent(block: Element) -> None:
    """`<p>　　<font>　heading</font></p>`: the indentation is the whitespace before the first
    visible thing of the block, in whichever inline element (or tail) it sits. (For a block with
    children and no text but indentation, which tidy_blocks has stripped already.)"""
    # The commonest cases first (`<p>　　<strong>heading</strong>`, a wrapper of blocks), without
    # setting up the walk below: 0.5 µs of the 1.1 a block cost. The walk does the same again
    # when neither applies (it starts with this same element, which is left unchanged then).
    first = block[0]
    if first.tag in _INDENT_STOPS:
        return
    value = first.text
    if value and (visible := value.lstrip(_INDENT)):
        if len(visible) != len(value):
            first.text = visible
        return
    # Document order through the inline content: each element's text, its children, its tail.
    # (A stack of child iterators, not recursion: nesting depth is the source's to choose.)
    stack: list[tuple[Iterator[Element], Element | None]] = [(iter(block), None)]
    while stack:
        children, owner = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if owner is not None and _strip_indent_of(owner, "tail"):
                return
            continue
        if node.tag in _INDENT_STOPS:
            return
        if _strip_indent_of(node, "text"):
            return
        stack.append((iter(node), node))


# Where the indentation of a block ends: at a block inside it, or an image. (A set membership
# test is False for the non-str tags of comments and processing instructions, as it should be.)
_INDENT_STOPS = BLOCK_TAGS | {"img"}


def _strip_indent_of(node: Element, attribute: str) -> bool:
    """Strip the leading indentation of node.text or node.tail; True once visible text is reached."""
    value = getattr(node, attribute)
    if not value:
        return False
    visible = value.lstrip(_INDENT)
    if visible:
        if len(visible) != len(value):
            setattr(node, attribute, visible)
        return True
    setattr(node, attribute, None)
    return False


def _trim_edge_breaks(block: Element) -> None:
    while len(block) and block[-1].tag == "br" and not (block[-1].tail or "").strip(_INDENT):
        block.remove(block[-1])
    while len(block) and block[0].tag == "br" and not (block.text or "").strip(_INDENT):
        block.text = block[0].tail  # remove() takes the tail along; keep it as the block's text
        block.remove(block[0])


class Kept(list[tuple[Element, str]]):
    """The block and collapsible elements left after keep_allowed_tags, in document order, with
    their tags; `breaks`: whether a <br> is among them. (What tidy_blocks looks at.)"""

    breaks = False


def keep_allowed_tags(body: Element) -> Kept:
    """The tree takes the shape the sanitiser will give it: block containers it does not carry
    become <div>, every other tag outside the allow-list is unwrapped (its text stays). Deciding
    about whitespace and empty wrappers on that shape is what makes cleaning idempotent.
    Returns the elements tidy_blocks looks at (reading an element's tag costs as much as testing
    it: this walk reads each once for both)."""
    unknown = set()
    kept = Kept()
    for element in body.iter():  # one walk, tags tested in Python (cheaper than lxml's matcher)
        tag = element.tag
        if tag in _KEPT_CANDIDATES:
            kept.append((element, tag))
            if tag == "br":  # (<br> is allowed, so stripping the unknown tags leaves every one)
                kept.breaks = True
        elif tag in _DIV_LIKE_SET:
            element.tag = "div"
            kept.append((element, "div"))
        elif tag not in ALLOWED_TAGS and isinstance(tag, str):
            unknown.add(tag)
            if tag == "body":
                kept.append((element, tag))
    unknown.discard("body")
    if unknown:
        etree.strip_tags(body, *unknown)
    return kept


_DIV_LIKE_SET = frozenset(DIV_LIKE)
# Tags that survive keep_allowed_tags and that tidy_blocks looks at.
_KEPT_CANDIDATES = (BLOCK_TAGS | COLLAPSIBLE) & ALLOWED_TAGS
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS_IN_P = (*sorted(BLOCK_TAGS - {"body", "br"}), "iframe")
# Tested in Python: lxml's iter(*tags) sets up a matcher for the ~35 names on every call (~6 µs),
# far more than walking a paragraph's few children.
_BLOCKS_IN_P_SET = frozenset(_BLOCKS_IN_P)


def html5_structure(body: Element, tags: Set[object] | None = None) -> None:
    """Where lxml's parser and HTML5's (the sanitiser's, a reader's) build different trees, take
    HTML5's shape first, so every later stage (and a second cleaning) sees what a reader sees:
    a heading in a heading or a link in a link is unwrapped, a <p> holding blocks is a <div>,
    content misplaced in a table moves before it. `tags`: the tags in the tree, if known (the
    heading and table walks are skipped when it has none)."""
    if tags is None:
        tags = {element.tag for element in body.iter()}
    # (Looked for from the outer element down: most have no children, so this is cheap.)
    nested = {inner for outer in body.iter(*_HEADINGS) if len(outer)
              for inner in outer.iterdescendants(*_HEADINGS)} if not tags.isdisjoint(_HEADINGS) else set()
    if "a" in tags:
        nested |= {inner for outer in body.iter("a") if len(outer) for inner in outer.iterdescendants("a")}
    if nested:
        for element in [e for e in body.iter(*_HEADINGS, "a") if e in nested][::-1]:
            drop_tag(element)
    # HTML5 ends a <p> at the first block inside it.
    for paragraph in list(body.iter("p")) if "p" in tags else ():
        if len(paragraph):
            for descendant in paragraph.iterdescendants():
                if descendant.tag in _BLOCKS_IN_P_SET:
                    paragraph.tag = "div"
                    break
    # HTML5 ignores a cell, row or row group outside any table (keeping its content); lxml keeps
    # it, and a text rule would then see `<div>x<td>y</td></div>` and `<div>xy</div>` differently.
    if tags.isdisjoint(_TABLE_PARTS) and "table" not in tags:
        return  # (_TABLE_CHILDREN's tags are "table" and table parts)
    for part in list(body.iter(*_TABLE_PARTS))[::-1]:
        if next(part.iterancestors("table"), None) is None:
            drop_tag(part)
    _foster_parent(body)


_TABLE_PARTS = ("caption", "thead", "tbody", "tfoot", "tr", "td", "th")
_TABLE_CHILDREN = {"table": {"caption", "thead", "tbody", "tfoot", "tr"}, "thead": {"tr"},
                   "tbody": {"tr"}, "tfoot": {"tr"}, "tr": {"td", "th"}}


def _foster_parent(body: Element) -> None:
    """What HTML5 does with content misplaced in a table (text or a <p> between rows): it moves
    it before the table. Row parts outside any table lose their tags."""
    for part in list(body.iter(*_TABLE_CHILDREN)):
        table = part if part.tag == "table" else next(part.iterancestors("table"), None)
        if table is None:
            drop_tag(part)
            continue
        if part.text and part.text.strip():
            _text_before(table, part.text)
            part.text = None
        for child in list(part):
            if not isinstance(child.tag, str) or child.tag not in _TABLE_CHILDREN[part.tag]:
                tail, child.tail = child.tail, None
                table.addprevious(child)
                if tail and tail.strip():
                    _text_before(table, tail)
            elif child.tail and child.tail.strip():
                _text_before(table, child.tail)
                child.tail = None


def _text_before(element: Element, text: str) -> None:
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent = element.getparent()
        if parent is not None:
            parent.text = (parent.text or "") + text


def unwrap_wrapper_divs(body: Element) -> None:
    """A <div> with no text of its own whose children are all blocks is structure the reader
    does not need (an image wrapper, whose child is inline, stays). Unwrapping one <div> never
    changes the text, children or tails another is judged by, so all are unwrapped at once."""
    wrappers = []
    for element in body.iter("div"):
        if not len(element) or (element.text or "").strip(_INDENT):
            continue
        for child in element:
            if child.tag not in _WRAPPED_BLOCKS or ((tail := child.tail) and tail.strip(_INDENT)):
                break
        else:
            wrappers.append(element)
    _unwrap_all(body, wrappers)


_WRAPPED_BLOCKS = BLOCK_TAGS - {"br"}


# The URL attributes the sanitiser keeps, by tag: only these need resolving (any other goes with
# the sanitiser, resolved or not, and by now every tag is one the allow-list knows).
_URL_ATTRIBUTES = {tag: tuple(sorted(names & {"href", "src", "cite"}))
                   for tag, names in ALLOWED_ATTRIBUTES.items() if names & {"href", "src", "cite"}}


def absolutise_urls(body: Element, base_url: str) -> tuple[str, ...]:
    """Resolve the URL attributes the allow-list keeps. A <base href> in the body is never
    trusted (it is removed with the other active tags); a URL that cannot be resolved goes.
    Returns image_urls(body) as it is then (read in this walk: one C walk of the tree less)."""
    images: list[str] = []
    for element in body.iter(*_URL_ATTRIBUTES):
        tag = element.tag
        for name in _URL_ATTRIBUTES[tag]:
            value = element.get(name)
            if value is None or value.startswith(("http://", "https://")):
                continue
            try:
                element.set(name, urljoin(base_url, value.strip()))
            except ValueError:
                del element.attrib[name]
        if tag == "img" and len(images) < IMAGE_LIMIT:
            _add_image_url(element, images)
    return tuple(images)


def https_for_protocol_relative(body: Element) -> tuple[str, ...]:
    """`//host/path` means "the page's scheme"; in a feed there is no page, and https is the safe
    reading (an archived seed has no base URL to resolve against). Returns image_urls(body) as
    it is then, as absolutise_urls does."""
    images: list[str] = []
    for element in body.iter(*_URL_ATTRIBUTES):
        tag = element.tag
        for name in _URL_ATTRIBUTES[tag]:
            value = element.get(name)
            if value and value.startswith("//") and name != "cite":  # (cite stays as it is)
                element.set(name, "https:" + value)
        if tag == "img" and len(images) < IMAGE_LIMIT:
            _add_image_url(element, images)
    return tuple(images)


IMAGE_LIMIT = 8


def image_urls(body: Element, limit: int = IMAGE_LIMIT) -> tuple[str, ...]:
    """The first `limit` absolute http(s) image URLs of the article, in document order."""
    urls: list[str] = []
    for img in body.iter("img"):
        _add_image_url(img, urls)
        if len(urls) == limit:
            break
    return tuple(urls)


def _add_image_url(img: Element, urls: list[str]) -> None:
    src = img.get("src", "").strip()
    if src.startswith(("http://", "https://")):
        urls.append(src)


def serialise_children(body: Element) -> str:
    """The body's content: the body serialised whole (one C call), without its own tags."""
    if body.attrib:
        body.attrib.clear()
    html = etree.tostring(body, method="html", encoding="unicode", with_tail=False)
    return html[len("<body>"):-len("</body>")] if html.endswith("</body>") else html[len("<body>"):]
