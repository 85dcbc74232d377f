"""The fast path of worker.core.feed: well-formed RSS 2.0 and Atom 1.0 read with lxml. Pure.

feedparser reads a feed through a SAX parser and a state machine that runs Python for every
character event: ~0.75 ms for an 8 KB item. Here libxml2 (lxml) builds the tree in C and this
module applies feedparser's own mapping rules to the few elements worker.core.feed uses, giving
the dicts feedparser would give (only the keys worker.core.feed reads) at a fraction of the cost.

feedparser stays the authority. `parse_fast` returns None, and the caller runs feedparser,
whenever it is not sure: not well-formed XML, a DOCTYPE, another root or RSS version, Atom xhtml
or base64 content, a second title, guid, author or summary in an entry, a namespaced attribute,
or any element feedparser would map into a field we read that is not modelled here (media:title,
itunes:keywords, an <image> in an item, ...). Elements feedparser has no handler for and that
land in no key we read (slash:comments, wfw:commentRss, ...) are ignored, as feedparser in effect
does. tests/test_feed_fastpath.py runs feedparser's own test corpus through both paths and
requires equal results wherever this path accepts.

feedparser 6.0.14 behaviour reproduced on purpose (mixin.py, namespaces/_base.py):
- every text value is stripped, then "UTF-8 read as Latin-1" is undone and C1 controls are read
  as windows-1252 (mixin.pop); author names and emails inside <author> are only stripped;
- link, guid/id and media:thumbnail text is resolved against the current xml:base; a guid
  without isPermaLink="false" (and every Atom id) becomes the link if no link came before it;
  an entry's text link has `&amp;` undone once more and `&name;` turned into `&name`;
- an Atom author is "name (email)", "name" or "email";
- xml:base is tracked per element as feedparser does, including its quirk that leaving an element
  whose parent had no base keeps the child's base.
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

from worker.core.decode import has_charref

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"

# No DTD, no entities beyond XML's five, no network: the document already had its internal subset
# removed (worker.core.decode.xml_for_parser), and a DOCTYPE makes this path decline anyway.
# Comments and processing instructions are dropped, as feedparser ignores them.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          remove_comments=True, remove_pis=True)

# Element names feedparser has a _start_/_end_ handler for (feedparser's name: "dc_creator").
_HANDLED = frozenset(name.split("_", 2)[2] for name in dir(_FeedParserMixin)
                     if name.startswith(("_start_", "_end_")))
_KNOWN_NS = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_STD_PREFIXES = frozenset(prefix for prefix in _KNOWN_NS.values() if prefix)

# The keys worker.core.feed reads. An element feedparser stores under one of them must be modelled.
ENTRY_KEYS = frozenset({"link", "title", "updated_parsed", "published_parsed", "content", "summary",
                        "summary_detail", "id", "author", "tags", "links", "media_thumbnail",
                        "media_content", "image"})
FEED_KEYS = frozenset({"title", "link", "ttl", "sy_updateperiod", "sy_updatefrequency"})

_TITLE = frozenset({"title", "dc_title", "media_title"})
_LINK_ELEMENTS = frozenset({"link"})
_GUID = frozenset({"guid", "id"})
_AUTHOR = frozenset({"author", "dc_creator", "dc_author", "itunes_author", "managingeditor"})
_AUTHOR_PARTS = {"name": "name", "itunes_name": "name", "email": "email", "itunes_email": "email",
                 "uri": "href", "url": "href", "homepage": "href"}
_PUBLISHED = frozenset({"published", "pubdate", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_CATEGORY = frozenset({"category", "dc_subject", "keywords", "media_category"})
_SUMMARY = {"description": "text/html", "dc_description": "text/html",  # default content type
            "summary": "text/plain", "itunes_summary": "text/plain"}
_CONTENT = {"content_encoded": "text/html", "fullitem": "text/html", "content": "text/plain"}
# Handled elements whose handlers write nothing we read, as childless elements in an entry.
_ENTRY_INERT = frozenset({
    "language", "dc_language", "rights", "copyright", "dc_rights", "created", "dcterms_created",
    "expirationdate", "generator", "subtitle", "itunes_subtitle", "itunes_explicit", "itunes_block",
    "dc_publisher", "webmaster", "media_credit", "media_rating", "media_restriction", "media_license",
    "media_player", "source", "cloud", "dcterms_valid"})
# ... and at feed level (none of them writes the feed's title, link, ttl or sy:*).
_FEED_INERT = _ENTRY_INERT | _PUBLISHED | _UPDATED | _CATEGORY | frozenset({
    "description", "dc_description", "subtitle", "tagline", "itunes_summary", "itunes_image",
    "newlocation"}) - {"source"}
# Children feedparser files under the feed's <image> / <textinput> (others reset its in-image flag).
_IMAGE_PARTS = frozenset({"url", "title", "link", "width", "height", "description"})
_TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})
_MEDIA_CONTAINERS = frozenset({"media_content", "media_group"})

_XMLNS = re.compile(rb"""xmlns(?::([^\s=>/]+))?\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# Any attribute named base (xml:base, base, BASE, foo:base): feedparser reads them all.
_HAS_BASE_ATTR = etree.XPath("boolean(//@*[translate(local-name(), 'BASE', 'base') = 'base'])")
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_C1 = re.compile("[\x80-\x9f]")
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
# feedparser's own date parser (the same struct_time), remembered: a re-poll sees the same dates.
_parse_date_cached = functools.lru_cache(maxsize=4096)(_parse_date)
# RFC 822 as RSS writes it ("Sat, 01 Jun 2024 12:00:00 GMT"): see parse_date.
_NO_OFFSET = datetime.timedelta(0)
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_PLAIN_RFC822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) (" + "|".join(_MONTHS) + r") ([0-9]{4}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) (?:GMT|([+-])([0-9]{2})([0-9]{2}))")


def parse_date(value: str) -> Any:
    """feedparser's _parse_date(value), the same struct_time (or None).

    _parse_date tries its handlers in turn; for a date in the plain RSS form the first, W3DTF,
    always gives up (what it takes for the year is never 4 digits: "", "sa", "mon," or longer)
    and the second, RFC 822, decides, unless it finds no date (31 Feb), when the others get
    their turn. For that form its answer is the arithmetic below, which skips its lower-casing,
    splitting and table lookups: 3.6 -> 2.0 us a date (a first poll's dates are all new).
    tests/test_feed_dates.py compares the two over every field value."""
    match = _PLAIN_RFC822.fullmatch(value)
    if match is None:
        return _parse_date_cached(value)
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = datetime.timedelta(hours=int(zone_hours), minutes=int(zone_minutes)) if sign else _NO_OFFSET
    try:
        stamp = datetime.datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
        return (stamp + offset if sign == "-" else stamp - offset).utctimetuple()
    except (OverflowError, ValueError):  # RFC 822's handler finds no date: the others try
        return _parse_date_cached(value)


# ---- CDATA sections lifted out of libxml2's way ------------------------------------------------
# libxml2 reads a CDATA section character by character (UTF-8 decoding, XML Char checks, line
# ends): ~90 % of its parse of an RSS feed whose descriptions are CDATA (0.041 -> 0.005 ms per
# 8 KB item without their content). So the content of each section is taken out before the parse,
# checked and decoded here as libxml2 would (strict UTF-8, XML 1.0 Chars only, CR LF and CR read
# as LF), and a token stands in its place; _Reader._leaf_text puts the content back. Whatever
# libxml2 would reject (bytes that are not UTF-8, a control character, U+FFFE/U+FFFF, a text over
# its 10 MB limit) is left in place, so the parse still fails where it failed. Only UTF-8 as this
# module is given it (worker.core.decode writes that declaration), and only when no text of the
# document can hold the token's own (private-use) characters.
_UTF8_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"
_CDATA_OPEN = b"<![CDATA["
_MARKUP_OPEN = re.compile(rb"<[!?]")  # a comment, a PI, a CDATA section, or a DOCTYPE's markup
# Every byte but the C0 controls XML 1.0 forbids: translate(None, these) leaves only those
# (~0.4 ns a byte; a regex character class takes ~3 ns).
_XML_CHAR_BYTES = bytes(b for b in range(256) if b >= 0x20 or b in b"\t\n\r")
_LIBXML2_MAX_TEXT = 10_000_000  # XML_MAX_TEXT_LENGTH without huge_tree
_TOKEN_OPEN, _TOKEN_CLOSE = "\ue000", "\ue001"
# No text of the document can hold a token's characters when its bytes have no character of
# U+E000..U+EFFF (UTF-8 lead byte EE; memchr finds none in a Chinese or English feed, where a
# search for the token's three bytes takes ~6 us per 8 KB) and no character reference.
_TOKEN_LEAD_BYTE = b"\xee"
_TOKEN = re.compile(f"{_TOKEN_OPEN}([0-9]+){_TOKEN_CLOSE}")


def lift_cdata(xml: bytes) -> tuple[bytes, dict[str, str]]:
    """(the document with a token for the content of each CDATA section, token -> content), or
    (xml, {}) when a section is not lifted as libxml2 would read it."""
    if (not xml.startswith(_UTF8_DECLARATION) or len(xml) > _LIBXML2_MAX_TEXT
            or _TOKEN_LEAD_BYTE in xml or has_charref(xml) or _CDATA_OPEN not in xml):
        return xml, {}
    parts: list[bytes] = []
    lifted: dict[str, str] = {}
    done = at = len(_UTF8_DECLARATION)
    while (markup := _MARKUP_OPEN.search(xml, at)) is not None:
        start = markup.start()
        if xml.startswith(_CDATA_OPEN, start):
            content_start = start + len(_CDATA_OPEN)
            end = _cdata_end(xml, content_start)
            if end == -1:
                return xml, {}
            content = xml[content_start:end]
            if content.translate(None, _XML_CHAR_BYTES):  # a C0 control
                return xml, {}
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                return xml, {}
            if "\ufffe" in text or "\uffff" in text:  # on the str: 4x faster than on the bytes
                return xml, {}
            if "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            token = f"{_TOKEN_OPEN}{len(lifted)}{_TOKEN_CLOSE}"
            lifted[token] = text
            parts += (xml[done:content_start], token.encode())
            done = at = end
        elif xml.startswith(b"<!--", start):
            end = xml.find(b"-->", start + 4)
            if end == -1:
                return xml, {}
            at = end + 3
        elif xml.startswith(b"<?", start):
            end = xml.find(b"?>", start + 2)
            if end == -1:
                return xml, {}
            at = end + 2
        else:  # <!DOCTYPE and its declarations: not read here (the fast path declines them)
            return xml, {}
    if not lifted:
        return xml, {}
    parts.append(xml[done:])
    return b"".join(parts), lifted


def _cdata_end(xml: bytes, at: int) -> int:
    """Where the `]]>` that ends a section starting at `at` is, or -1. By memchr for "]" (rare in
    HTML): bytes.find(b"]]>") skips badly over HTML, where ">" is everywhere (6 us per 8 KB)."""
    while (at := xml.find(b"]", at)) != -1:
        if xml.startswith(b"]>", at + 1):
            return at
        at += 1
    return -1


def _restored(text: str, lifted: dict[str, str]) -> str:
    """An element's text with the lifted CDATA content in place of its tokens."""
    whole = lifted.get(text)  # the usual case: the element's text is one CDATA section
    if whole is not None:
        return whole
    return _TOKEN.sub(lambda match: lifted[match.group(0)], text) if _TOKEN_OPEN in text else text


class Declined(Exception):
    """The fast path is not sure; feedparser decides."""


def parse_fast(xml: bytes, content_location: str = "") -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(feed, entries) as feedparser's dicts for the keys worker.core.feed reads, or None.

    `xml` is what feedparser is given (worker.core.decode.xml_for_parser); `content_location` the
    Content-Location header feedparser would see (its initial xml:base).
    """
    try:
        return _Reader(xml, content_location).read()
    except (Declined, etree.XMLSyntaxError):
        return None


def stored_key(name: str) -> str:
    """The key FeedParserDict stores `name` under (`date_parsed` is `updated_parsed`)."""
    key = FeedParserDict.keymap.get(name, name)
    return key[0] if isinstance(key, list) else key


def finish_text(text: str | None) -> str:
    """feedparser's treatment of a text value: strip, undo UTF-8 read as Latin-1, C1 as cp1252."""
    out = (text or "").strip()
    if out.isascii():  # O(1) in CPython; both steps only touch U+0080..U+00FF
        return out
    try:
        repaired = out.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        repaired = out
    return repaired.translate(_cp1252) if _C1.search(repaired) else repaired


def _without_query_entities(value: str) -> str:
    """`&name;` as `&name`; the test first, as re's template expansion costs ~1 us per call."""
    return _QUERY_ENTITY.sub(r"&\g<1>", value) if ";" in value else value


_CONTENT_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html",
                  "xhtml": "application/xhtml+xml"}


def _map_content_type(value: str) -> str:
    value = value.lower()
    return _CONTENT_TYPES.get(value, value)


def _add_tag(tags: list[dict[str, Any]], term: Any, scheme: Any, label: Any) -> None:
    if not term and not scheme and not label:
        return
    value = {"term": term, "scheme": scheme, "label": label}
    if value not in tags:
        tags.append(value)


class _Reader:
    def __init__(self, xml: bytes, content_location: str) -> None:
        first = _FIRST_ELEMENT.search(xml)
        if _DOCTYPE.search(xml, 0, first.start() if first else len(xml)):
            raise Declined("DOCTYPE")  # feedparser rewrites it (and may call the feed rss091n)
        self.xml = xml
        # Both of finish_text's repairs only touch U+0080..U+00FF. Such a character is either
        # written in UTF-8 (lead byte C2 or C3: memchr finds none in a Chinese or English feed)
        # or a character reference; without either, text values need stripping only.
        self.latin1_range = b"\xc2" in xml or b"\xc3" in xml or has_charref(xml)
        self.namespacemap, self.prefixes_by_uri = self._declarations(xml)
        self.names: dict[str, tuple[str, ...]] = {}
        # feedparser's current base URI. Without any base attribute (and no Content-Location) it
        # stays "" throughout, and the per-element bookkeeping is skipped.
        self.baseuri = content_location or ""
        self.exact_base = bool(self.baseuri)  # or any base attribute: see read()
        self.basestack: list[str] = []
        self.lifted: dict[str, str] = {}  # token -> CDATA content (lift_cdata)

    # ---- namespaces and names ------------------------------------------------------------------

    @staticmethod
    def _declarations(xml: bytes) -> tuple[dict[str | None, str], dict[str, set[str]]]:
        """Every xmlns declaration in the text (a superset: CDATA may hold look-alikes).

        feedparser maps a document prefix bound to a known namespace to its standard prefix
        (namespacemap) and names elements of unknown namespaces by a document prefix.
        """
        namespacemap: dict[str | None, str] = {}
        prefixes_by_uri: dict[str, set[str]] = {}
        for match in _XMLNS.finditer(xml):
            raw_prefix, dq, sq = match.groups()
            uri = (dq if dq is not None else sq).decode("utf-8", "replace")
            prefix = raw_prefix.decode("utf-8", "replace") if raw_prefix else None
            if "&" in uri:
                raise Declined("entity in a namespace name")
            lower = uri.lower()
            if "backend.userland.com/rss" in lower:
                lower = "http://backend.userland.com/rss"
            std = _KNOWN_NS.get(lower)
            if std is not None and prefix is not None:  # feedparser never looks up the default's
                if namespacemap.get(prefix, std) != std:
                    raise Declined(f"prefix {prefix!r} bound to two known namespaces")
                if prefix in _STD_PREFIXES and std != prefix:
                    raise Declined(f"standard prefix {prefix!r} bound to another namespace")
                namespacemap[prefix] = std
            if prefix:
                prefixes_by_uri.setdefault(uri, set()).add(prefix)
        return namespacemap, prefixes_by_uri

    def _names(self, tag: Any) -> tuple[str, ...]:
        """feedparser's name(s) for an element: one, or every candidate for an unknown namespace."""
        names = self.names.get(tag)
        if names is None:
            names = self.names[tag] = self._compute_names(tag)
        return names

    def _compute_names(self, tag: Any) -> tuple[str, ...]:
        if not isinstance(tag, str) or not tag.isascii():
            # Entities, or a non-ASCII name: expat (XML 1.0 4th edition names) may reject what
            # libxml2 accepts.
            raise Declined(f"element {tag!r}")
        if tag[0] != "{":
            return (tag.lower(),)
        namespace, local = tag[1:].split("}", 1)
        local = local.lower()
        lower = namespace.lower()
        if "backend.userland.com/rss" in lower:
            lower = "http://backend.userland.com/rss"
        std = _KNOWN_NS.get(lower)
        if std == "":
            return (local,)
        if std is not None:
            prefix = self.namespacemap.get(std.lower(), std.lower())
            return (f"{prefix}_{local}",)
        # Unknown namespace: feedparser uses the first document prefix it saw bound to it (or none).
        candidates = {local}
        for prefix in self.prefixes_by_uri.get(namespace, ()):
            lowered = prefix.lower()
            candidates.add(f"{lowered}_{local}")
            candidates.add(f"{self.namespacemap.get(lowered, lowered)}_{local}")
        return tuple(sorted(candidates))

    def _name(self, el: Any) -> str:
        names = self._names(el.tag)
        if len(names) != 1:
            return ""  # ambiguous: only acceptable as an inert element
        return names[0]

    # ---- attributes and xml:base ---------------------------------------------------------------

    @staticmethod
    def _attrs(items: list[tuple[str, str]]) -> dict[str, str]:
        """feedparser's attrs_d from an element's items(): names lowercased, rel and type values too."""
        out: dict[str, str] = {}
        for key, value in items:
            if key[0] == "{":
                namespace, local = key[1:].split("}", 1)
                if namespace != XML_NS:
                    # feedparser files `foo:href` under "href" as well: too clever to follow
                    raise Declined(f"namespaced attribute {key}")
                name = "xml:" + local.lower()
            else:
                name = key.lower()
            if name in out or not name.isascii():
                raise Declined(f"attribute {key}")
            out[name] = value.lower() if name in ("rel", "type") else value
        return out

    @staticmethod
    def _base_attr(el: Any) -> str | None:
        """attrs_d.get('xml:base', attrs_d.get('base')) as feedparser builds attrs_d."""
        xml_base: str | None = None
        plain: list[str] = []
        for key, value in el.items():
            if key[0] == "{":
                namespace, local = key[1:].split("}", 1)
                if local.lower() != "base":
                    continue
                if namespace == XML_NS:
                    xml_base = value
                elif _KNOWN_NS.get(namespace.lower()) in (None, ""):
                    plain.append(value)  # feedparser drops such a prefix
                else:
                    raise Declined(f"attribute {key}")
            elif key.lower() == "base":
                plain.append(value)
        if len(plain) > 1:
            raise Declined("two base attributes")
        return xml_base if xml_base is not None else (plain[0] if plain else None)

    def _enter(self, el: Any) -> None:
        """mixin.unknown_starttag's xml:base bookkeeping."""
        if not self.exact_base:
            return
        base = self._base_attr(el) or self.baseuri
        if self.baseuri:
            self.baseuri = make_safe_absolute_uri(self.baseuri, base) or self.baseuri
        else:
            self.baseuri = _urljoin(self.baseuri, base)
        self.basestack.append(self.baseuri)

    def _leave(self) -> None:
        """mixin.unknown_endtag's: the parent's base comes back only if it had one."""
        if not self.exact_base:
            return
        self.basestack.pop()
        if self.basestack and self.basestack[-1]:
            self.baseuri = self.basestack[-1]

    def _resolve(self, uri: str) -> str:
        if not self.baseuri and ":///" not in uri:
            # feedparser's _urljoin("", uri) is its _urifixer, which only drops the slashes after
            # a scheme's "://", then urljoin("", uri), which is uri: a regex sub with a template
            # per link and id, ~2 us each, for nothing.
            return uri
        return _urljoin(self.baseuri or "", uri)

    # ---- text ----------------------------------------------------------------------------------

    def _leaf_text(self, el: Any) -> str:
        if len(el):
            raise Declined(f"markup inside <{el.tag}>")  # feedparser would switch to xhtml
        text = el.text
        if not text:
            return ""
        return _restored(text, self.lifted) if self.lifted else text

    def _text(self, el: Any, *, relative: bool = False) -> str:
        """mixin.pop for a text element: strip, resolve (links, ids), finish."""
        out = self._leaf_text(el).strip()
        if relative and out:
            out = self._resolve(out)
        return finish_text(out) if self.latin1_range else out

    @staticmethod
    def _content_type(attrs: dict[str, str], default: str) -> str:
        """push_content's type; only plain text and HTML, never base64 or xhtml."""
        if "mode" in attrs or "src" in attrs:
            raise Declined("content mode/src")
        content_type = _map_content_type(attrs.get("type", default))
        if not content_type.startswith("text/"):
            raise Declined(f"content type {content_type}")
        return content_type

    # ---- the document --------------------------------------------------------------------------

    def read(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        skeleton, self.lifted = lift_cdata(self.xml)
        root = etree.fromstring(skeleton, _PARSER)
        self.exact_base = self.exact_base or bool(_HAS_BASE_ATTR(root))
        name = self._name(root)
        self._enter(root)
        attrs = self._attrs(root.items())
        if name == "rss" and not root.tag.startswith("{"):
            if not attrs.get("version", "").startswith("2."):
                raise Declined(f"RSS version {attrs.get('version')!r}")
            channels = list(root)
            if len(channels) != 1 or self._name(channels[0]) != "channel":
                raise Declined("<rss> without exactly one <channel>")
            channel = channels[0]
            self._enter(channel)
            if {"lastmod", "href"} & self._attrs(channel.items()).keys():
                raise Declined("CDF attributes")
            result = self._feed(channel, "item")
            self._leave()
        elif name == "feed" and root.tag == f"{{{ATOM_NS}}}feed":
            result = self._feed(root, "entry")
        else:
            raise Declined(f"root {root.tag}")
        self._leave()
        return result

    def _feed(self, container: Any, entry_name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        feed: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        titles = 0
        for child in container:
            name = self._name(child)
            if name == entry_name:
                entries.append(self._entry(child))
                continue
            self._enter(child)
            attrs = self._attrs(items) if (items := child.items()) else {}
            if name in _TITLE:
                titles += 1
                if name != "title" or titles > 1:
                    raise Declined("feed title")
                self._content_type(attrs, "text/plain")
                feed["title"] = self._text(child)
            elif name == "link":
                self._link(child, attrs, feed, entry=False)
            elif name == "id" and entry_name == "entry":
                guidislink = attrs.get("ispermalink", "true") == "true"
                value = self._text(child, relative=guidislink)
                if guidislink:
                    feed.setdefault("link", value)
            elif name in ("ttl", "sy_updateperiod", "sy_updatefrequency"):
                if attrs:
                    raise Declined(f"attributes on {name}")
                feed[name] = self._text(child)
            elif name in _FEED_INERT:
                self._leaf_text(child)
            elif name in _AUTHOR or name == "contributor":
                self._parts(child, _AUTHOR_PARTS.keys())
            elif name == "itunes_owner":
                self._parts(child, {"itunes_name", "itunes_email", "name", "email"})
            elif name == "image":
                self._parts(child, _IMAGE_PARTS)
            elif name == "textinput":
                self._parts(child, _TEXTINPUT_PARTS)
            elif name == "itunes_category":
                self._itunes_categories(child)
            else:
                self._inert(child, name, FEED_KEYS)
            self._leave()
        return feed, entries

    def _parts(self, el: Any, allowed: Any) -> None:
        """A feed-level container whose childless parts feedparser files away from our keys."""
        for child in el:
            if self._name(child) not in allowed:
                raise Declined(f"<{child.tag}> in <{el.tag}>")
            self._enter(child)
            self._leaf_text(child)
            self._leave()

    def _itunes_categories(self, el: Any) -> None:
        for child in el:
            if self._name(child) != "itunes_category":
                raise Declined(f"<{child.tag}> in itunes:category")
            self._enter(child)
            self._itunes_categories(child)
            self._leave()

    def _inert(self, el: Any, name: str, keys: frozenset[str]) -> None:
        """An element feedparser has no handler for: it lands under its own name; so do its
        children, wherever they are. Fine unless one of those names is a key we read."""
        names = self._names(el.tag) if not name else (name,)
        if not all(key.isascii() for key, _value in el.items()):
            raise Declined(f"attribute name on <{el.tag}>")
        for candidate in names:
            if candidate in _HANDLED or stored_key(candidate) in keys:
                raise Declined(f"<{el.tag}> ({candidate}) not modelled here")
        for child in el:
            self._enter(child)
            self._inert(child, "", keys)
            self._leave()

    def _link(self, el: Any, attrs: dict[str, Any], context: dict[str, Any], *, entry: bool) -> None:
        """_base._start_link, and mixin.pop for a link given as text."""
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:  # _enforce_href
            attrs.pop("url", None)
            attrs.pop("uri", None)
            attrs["href"] = href
        if "href" in attrs:
            attrs["href"] = self._resolve(attrs["href"])
        links = context.setdefault("links", [])
        links.append(attrs)
        if "href" in attrs:
            self._leaf_text(el)
            if attrs["rel"] == "alternate" and _map_content_type(attrs["type"]) in _HTML_TYPES:
                context["link"] = attrs["href"]
            return
        value = self._text(el, relative=True)
        if entry:
            value = _without_query_entities(value.replace("&amp;", "&"))
            context["link"] = value
            if value:
                links[-1]["href"] = value
        else:
            value = _without_query_entities(value)
            context["link"] = value
            links[-1]["href"] = value

    # ---- entries -------------------------------------------------------------------------------

    def _entry(self, item: Any) -> dict[str, Any]:
        self._enter(item)
        for key, _value in item.items():
            if key.lower() in ("lastmod", "href") or (key[0] == "{" and not key.startswith(f"{{{XML_NS}}}")):
                raise Declined(f"attribute {key} on an entry")
        entry: dict[str, Any] = {}
        seen = {"title": 0, "id": 0, "author": 0, "summary": 0}
        for child in item:
            name = self._name(child)
            self._enter(child)
            attrs = self._attrs(items) if (items := child.items()) else {}
            if name in _TITLE:
                if name != "title":
                    raise Declined(f"{name} in an entry")
                self._once(seen, "title")
                self._content_type(attrs, "text/plain")
                entry["title"] = self._text(child)
            elif name in _LINK_ELEMENTS:
                self._link(child, attrs, entry, entry=True)
            elif name in _GUID:
                self._once(seen, "id")
                guidislink = attrs.get("ispermalink", "true") == "true"
                value = self._text(child, relative=guidislink)
                entry["id"] = value
                if guidislink:
                    entry.setdefault("link", value)
            elif name in _AUTHOR:
                self._once(seen, "author")
                self._author(child, entry)
            elif name in _PUBLISHED:
                entry["published_parsed"] = parse_date(self._text(child))
            elif name in _UPDATED:
                entry["updated_parsed"] = parse_date(self._text(child))
            elif name in _CATEGORY:
                self._category(child, name, attrs, entry)
            elif name in _SUMMARY:
                self._once(seen, "summary")
                content_type = self._content_type(attrs, _SUMMARY[name])
                value = self._text(child)
                entry["summary"] = value
                entry["summary_detail"] = {"type": content_type, "base": self.baseuri, "value": value}
            elif name in _CONTENT:
                content_type = self._content_type(attrs, _CONTENT[name])
                value = self._text(child)
                entry.setdefault("content", []).append({"type": content_type, "base": self.baseuri,
                                                        "value": value})
                if content_type in ("text/plain", "text/html"):
                    entry.setdefault("summary", value)  # _end_content copies text and HTML content
            elif name == "enclosure":
                self._leaf_text(child)
                href = attrs.get("url", attrs.get("uri", attrs.get("href")))
                if href:
                    attrs.pop("url", None)
                    attrs.pop("uri", None)
                    attrs["href"] = href
                attrs["rel"] = "enclosure"
                entry.setdefault("links", []).append(attrs)
            elif name in _MEDIA_CONTAINERS or name == "media_thumbnail":
                self._media(child, name, attrs, entry)
            elif name == "itunes_image":
                self._leaf_text(child)
                if attrs.get("href"):
                    entry["image"] = {"href": attrs["href"]}
                elif attrs.get("url"):
                    entry["image"] = {"href": attrs["url"]}
            elif name in _ENTRY_INERT:
                self._leaf_text(child)
            elif name == "contributor":
                self._author_parts(child)
            else:
                self._inert(child, name, ENTRY_KEYS)
            self._leave()
        self._leave()
        return entry

    @staticmethod
    def _once(seen: dict[str, int], what: str) -> None:
        seen[what] += 1
        if seen[what] > 1:
            raise Declined(f"second {what} in an entry")

    def _author(self, el: Any, entry: dict[str, Any]) -> None:
        """_start_author/_end_author: the element's own text, unless name/email parts say more."""
        detail = self._author_parts(el)
        own = (el.text or "") + "".join(child.tail or "" for child in el)
        if self.lifted:
            own = _restored(own, self.lifted)
        entry["author"] = finish_text(own) if self.latin1_range else own.strip()
        if detail:
            name, email = detail.get("name"), detail.get("email")
            if name and email:
                entry["author"] = f"{name} ({email})"
            elif name or email:
                entry["author"] = name or email

    def _author_parts(self, el: Any) -> dict[str, str]:
        detail: dict[str, str] = {}
        for child in el:
            part = _AUTHOR_PARTS.get(self._name(child))
            if part is None:
                raise Declined(f"<{child.tag}> in an author")
            self._enter(child)
            # name and email are pushed without "expecting text": stripped only
            if part == "href":
                detail[part] = self._text(child, relative=True)
            else:
                detail[part] = self._leaf_text(child).strip()
            self._leave()
        return detail

    def _category(self, el: Any, name: str, attrs: dict[str, Any], entry: dict[str, Any]) -> None:
        if name == "media_category":
            attrs.setdefault("scheme", "http://search.yahoo.com/mrss/category_schema")
        tags = entry.setdefault("tags", [])
        _add_tag(tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")), attrs.get("label"))
        value = self._text(el)
        if value:
            if tags and not tags[-1]["term"]:
                tags[-1]["term"] = value
            else:
                _add_tag(tags, value, None, None)

    def _media(self, el: Any, name: str, attrs: dict[str, Any], entry: dict[str, Any]) -> None:
        """media:group / media:content (a container) and media:thumbnail (url attribute or text)."""
        if name == "media_thumbnail":
            entry.setdefault("media_thumbnail", []).append(attrs)
            url = self._text(el, relative=True)
            if url.strip() and "url" not in attrs:
                attrs["url"] = url
            return
        if name == "media_content":
            entry.setdefault("media_content", []).append(attrs)
        for child in el:
            child_name = self._name(child)
            self._enter(child)
            child_attrs = self._attrs(items) if (items := child.items()) else {}
            if child_name in _MEDIA_CONTAINERS or child_name == "media_thumbnail":
                if child_name == "media_group":
                    raise Declined("nested media:group")
                self._media(child, child_name, child_attrs, entry)
            elif child_name in _ENTRY_INERT:
                self._leaf_text(child)
            else:
                self._inert(child, child_name, ENTRY_KEYS)
            self._leave()
