"""Rule selectors matched in Python, several at once, with the results of their XPath.

Site rules name elements by CSS (`span[id^="quote_"]`, `p.article-editor`, `#x`), compiled by
cssselect to XPath. libxml2 walks the whole article for each XPath and tests its conditions
slowly, so a rule with six selectors walked the tree six times. Most selectors look at one
element's own tag and attributes only; those are also compiled here into Python tests, with the
exact conditions cssselect's HTMLTranslator writes, and a Finder tests every element of the
article once for all of a rule's selectors. Any other selector (combinators, pseudo-classes,
namespaces, case-insensitive values) keeps its XPath.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cssselect
from cssselect.parser import Attrib, Class, Element, Hash
from cssselect.xpath import is_non_whitespace, is_safe_name
from lxml import etree

ValueTest = Callable[[str], bool]
ElementTest = Callable[[etree._Element], bool]
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() folds
_OPERATORS = ("exists", "=", "|=", "^=", "$=", "*=", "~=")


@dataclass(frozen=True)
class Simple:
    """One selector of a group: its tag (None: any element) and, per attribute condition, the
    attribute's name and a test of its value (every condition needs the attribute present)."""

    tag: str | None
    conditions: tuple[tuple[str, ValueTest], ...]

    def test(self, element: etree._Element) -> bool:
        for name, test in self.conditions:
            value = element.get(name)
            if value is None or not test(value):
                return False
        return True


def simple_form(css: str) -> tuple[Simple, ...] | None:
    """The group of selectors `css` as Simple ones, or None if one of them is not that simple.
    (A selector cssselect translates to "matches nothing" is left out of the group.)"""
    group = []
    for parsed in cssselect.parse(css):
        if parsed.pseudo_element is not None:
            return None
        conditions: list[tuple[str, ValueTest] | None] = []
        node = parsed.parsed_tree
        while not isinstance(node, Element):
            if isinstance(node, Class):  # .x is [class~=x]
                conditions.append(_condition("class", "~=", node.class_name))
            elif isinstance(node, Hash):  # #x is [id=x]
                conditions.append(_condition("id", "=", node.id))
            elif (isinstance(node, Attrib) and node.namespace is None and node.flag in (None, "s")
                  and node.operator in _OPERATORS and is_safe_name(node.attrib)):
                value = None if node.value is None else node.value.value
                conditions.append(_condition(node.attrib.lower(), node.operator, value))
            else:
                return None
            node = node.selector
        if node.namespace is not None or (node.element is not None and not is_safe_name(node.element)):
            return None
        if None not in conditions:
            tag = None if node.element is None else node.element.lower()
            group.append(Simple(tag, tuple(c for c in conditions if c is not None)))
    return tuple(group)


def _condition(name: str, operator: str, value: str | None) -> tuple[str, ValueTest] | None:
    """HTMLTranslator's condition for `[name operator value]`; None where it writes "0"."""
    if operator == "exists":
        return name, lambda v: True
    assert value is not None
    if operator == "=":
        return name, value.__eq__
    if operator == "|=":
        dashed = value + "-"
        return name, lambda v: v == value or v.startswith(dashed)
    if not value:
        return None  # ^= $= *= ~= with an empty value match nothing
    if operator == "^=":
        return name, lambda v: v.startswith(value)
    if operator == "$=":
        return name, lambda v: v.endswith(value)
    if operator == "*=":
        return name, lambda v: value in v
    if operator == "~=" and is_non_whitespace(value):
        # (`v == value` first: a class attribute is most often the one class, and then the
        # split, a regex call, is most of the test.)
        return name, lambda v: v == value or (value in v and value in _XML_SPACE.split(v))
    return None


# What to test on an element of one tag: per attribute, (selector number, value test) for the
# selectors that are a single condition on it; the other selectors as (number, element test).
# Each selector appears once, so an element goes into its list once, as in an XPath union.
# (Plain tuples: this is looked at for every element of an article.)
_Tests = tuple[tuple[tuple[str, tuple[tuple[int, ValueTest], ...]], ...], tuple[tuple[int, ElementTest], ...]]


class Finder:
    """Several selectors, each given with its simple_form: finder(root) gives, for each simple
    one, selector.xpath(root), all found in one walk of the tree (each element tested by the
    selectors that can match its tag); for any other, None (its XPath is the caller's to run)."""

    def __init__(self, selectors: Sequence[tuple[etree.XPath, tuple[Simple, ...] | None]]) -> None:
        forms = [form for _, form in selectors]
        self.count = len(forms)
        groups = [form or () for form in forms]  # (a selector that is not simple tests nothing)
        named = {simple.tag for group in groups for simple in group if simple.tag is not None}
        self.by_tag = {tag: _tests_for(groups, tag) for tag in named}
        self.other = _tests_for(groups, None)  # for the tags no selector names
        self.any_tag = bool(self.other[0] or self.other[1])
        self.simple = [form is not None for form in forms]

    def __call__(self, root: etree._Element) -> list[list[etree._Element] | None]:
        found: list[list[etree._Element]] = [[] for _ in range(self.count)]
        by_tag, other = self.by_tag, self.other
        if by_tag or self.any_tag:
            # (etree.Element: elements only, as XPath's `*`; no comments or processing instructions.)
            for element in root.iter(etree.Element) if self.any_tag else root.iter(*by_tag):
                by_attribute, others = by_tag.get(element.tag, other)
                for name, value_tests in by_attribute:
                    value = element.get(name)
                    if value is not None:
                        for number, test in value_tests:
                            if test(value):
                                found[number].append(element)
                if others:
                    for number, element_test in others:
                        if element_test(element):
                            found[number].append(element)
        return [hits if simple else None for hits, simple in zip(found, self.simple, strict=True)]


def _tests_for(groups: Sequence[tuple[Simple, ...]], tag: str | None) -> _Tests:
    """The tests for an element of `tag` (None: of a tag no selector names)."""
    by_attribute: dict[str, list[tuple[int, ValueTest]]] = {}
    others: list[tuple[int, ElementTest]] = []
    for number, group in enumerate(groups):
        applicable = [simple for simple in group if simple.tag is None or simple.tag == tag]
        if len(applicable) == 1 and len(applicable[0].conditions) == 1:
            name, test = applicable[0].conditions[0]
            by_attribute.setdefault(name, []).append((number, test))
        elif len(applicable) == 1:
            others.append((number, applicable[0].test))
        elif applicable:
            others.append((number, _any_of(tuple(applicable))))
    return tuple((name, tuple(tests)) for name, tests in by_attribute.items()), tuple(others)


def _any_of(group: tuple[Simple, ...]) -> ElementTest:
    return lambda element: any(simple.test(element) for simple in group)
