"""Plain text: of the sanitised HTML (an article's text), of a tree, and the folded whitespace
that provenance samples and text rules look at. One line per block element."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable

from lxml import etree

# Block elements: each starts a new line of text (and, in the cleaner, a new run of indentation).
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "br", "center", "dd", "details", "div", "dl",
    "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul",
})
_SPACE_RUN = re.compile(r"[ \t\r\n\f\u3000\xa0]+")
_INLINE_SPACE_RUN = re.compile(r"[ \t\r\f\u3000\xa0]+")


def folded(text: str) -> str:
    """_SPACE_RUN.sub(" ", text).strip(). For ASCII text (a script, a style sheet) without the
    whitespace only str.split knows (\x0b, \x1c-\x1f), " ".join(text.split()) is the same and
    twice as fast. (Those five are looked for with `in`, a memchr each on an ASCII str: 0.1 µs
    for a 270-character style sheet, where a character-class regex took 1.2.)"""
    if text.isascii() and not ("\x1f" in text or "\x1e" in text or "\x1d" in text
                               or "\x1c" in text or "\x0b" in text):
        return " ".join(text.split())
    if text.isprintable():  # (then " " is its only whitespace: a short sample is folded without
        return " ".join(text.split())  # the regex, 0.2 instead of 0.6 µs)
    # Lines of CJK text: without whitespace str.split knows and _SPACE_RUN does not, the two agree
    # (strip() strips all of it anyway): 0.4 instead of 0.7 µs for Sina's QR block's sample.
    if _SPLIT_ONLY_SPACE.search(text) is None:
        return " ".join(text.split())
    return _SPACE_RUN.sub(" ", text).strip()


# The whitespace str.split() splits at and _SPACE_RUN does not fold (\x0b, \x1c-\x1f, \x85, ...).
_SPLIT_ONLY_SPACE = re.compile("[" + "".join(
    re.escape(c) for c in map(chr, range(0x110000)) if c.isspace() and not _SPACE_RUN.fullmatch(c)) + "]")


# Sanitised HTML is regular (every attribute quoted, `<` and `&` escaped in text), so a tag pattern
# that skips quoted values tokenises it exactly, and faster than walking a tree.
# (Written as an unrolled loop, `[^>"']*(?:quoted[^>"']*)*`: the same strings as
# `(?:[^>"']|quoted)*`, matched a run at a time instead of one character per alternation.)
_ATTRS = r"""[^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*>"""


def _alternation(words: Iterable[str]) -> str:
    """A pattern for any of `words`, factored by leading letters (`d(?:d|iv|l|t)`): the regex
    engine tries the alternatives of a group one by one, so a flat list of 37 tag names cost
    37 tries at every `<`. (Each word is followed by \\b where it is used, so at most one can
    match at a position, and factoring changes no match.)"""
    groups: dict[str, list[str]] = {}
    for word in words:
        groups.setdefault(word[:1], []).append(word[1:])
    parts = [re.escape(first) + _alternation(rest) if first else "" for first, rest in sorted(groups.items())]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(sorted(parts, key=lambda p: not p)) + ")"


_BLOCK_TAG = re.compile(r"</?" + _alternation(BLOCK_TAGS) + r"\b" + _ATTRS, re.I)
# The sanitiser writes tag names in lower case, so _BLOCK_TAG's re.I (which makes it four times
# slower) only matters where a `<` inside an attribute value is followed by a capital; without
# one anywhere, the case-sensitive twin matches exactly the same.
_LOWER_BLOCK_TAG = re.compile(_BLOCK_TAG.pattern)
_CAPITAL_AFTER_LT = re.compile(r"</?[a-z0-9]*+[A-Z]")  # (possessive: no backtracking through a name)
_ANY_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b" + _ATTRS)


def text_of_html(safe_html: str) -> str:
    """Plain text of the sanitised output, one line per block. Taken from the output, not the
    tree, so the text is exactly what a reader sees and cleaning the output again gives it again
    (the sanitiser's HTML5 parser may re-nest what lxml kept, e.g. text directly in a <table>)."""
    block_tag = _BLOCK_TAG if _CAPITAL_AFTER_LT.search(safe_html) else _LOWER_BLOCK_TAG
    text = html_lib.unescape(_ANY_TAG.sub("", block_tag.sub("\n", safe_html)))
    if "\xa0" in text or "\u3000" in text or "\t" in text or "\r" in text or "\f" in text:
        text = _INLINE_SPACE_RUN.sub(" ", text)
    else:  # only runs of " " to fold: str.replace does that far faster than the pattern
        while "  " in text:
            text = text.replace("  ", " ")
    # (One list comprehension, not a generator of generators: 3.8 instead of 4.8 µs an article.)
    return "\n".join([stripped for line in text.split("\n") if (stripped := line.strip(" \n\r\t"))])


def extract_text(body: etree._Element) -> str:
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
