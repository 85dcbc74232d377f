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
from typing import NamedTuple

import cssselect
from cssselect.parser import Attrib, Class, Element, Hash
from cssselect.xpath import is_non_whitespace, is_safe_name
from lxml import etree

ValueTest = Callable[[str], bool]
ElementTest = Callable[[etree._Element], bool]
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() folds
_OPERATORS = ("exists", "=", "|=", "^=", "$=", "*=", "~=")


class Condition(NamedTuple):
    """`[name operator value]`: `test` of the attribute's value, and the same test as a Python
    expression over `v` (the value) and `{c}` (the name the compiled walk gives `value`)."""

    name: str
    test: ValueTest
    expression: str
    value: str | None


@dataclass(frozen=True)
class Simple:
    """One selector of a group: its tag (None: any element) and its attribute conditions (every
    condition needs the attribute present)."""

    tag: str | None
    conditions: tuple[Condition, ...]

    def test(self, element: etree._Element) -> bool:
        for condition in self.conditions:
            value = element.get(condition.name)
            if value is None or not condition.test(value):
                return False
        return True


def simple_form(css: str) -> tuple[Simple, ...] | None:
    """The group of selectors `css` as Simple ones, or None if one of them is not that simple.
    (A selector cssselect translates to "matches nothing" is left out of the group.)"""
    group = []
    for parsed in cssselect.parse(css):
        if parsed.pseudo_element is not None:
            return None
        conditions: list[Condition | None] = []
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


def _condition(name: str, operator: str, value: str | None) -> Condition | None:
    """HTMLTranslator's condition for `[name operator value]`; None where it writes "0"."""
    if operator == "exists":
        return Condition(name, lambda v: True, "True", value)
    assert value is not None
    if operator == "=":
        return Condition(name, value.__eq__, "v == {c}", value)
    if operator == "|=":
        dashed = value + "-"
        return Condition(name, lambda v: v == value or v.startswith(dashed),
                         "v == {c} or v.startswith({c} + '-')", value)
    if not value:
        return None  # ^= $= *= ~= with an empty value match nothing
    if operator == "^=":
        return Condition(name, lambda v: v.startswith(value), "v.startswith({c})", value)
    if operator == "$=":
        return Condition(name, lambda v: v.endswith(value), "v.endswith({c})", value)
    if operator == "*=":
        return Condition(name, lambda v: value in v, "{c} in v", value)
    if operator == "~=" and is_non_whitespace(value):
        # (`v == value` first: a class attribute is most often the one class, and then the
        # split, a regex call, is most of the test.)
        return Condition(name, lambda v: v == value or (value in v and value in _XML_SPACE.split(v)),
                         "v == {c} or ({c} in v and {c} in _split(v))", value)
    return None


# What to test on an element of one tag: per attribute, (selector number, condition) for the
# selectors that are a single condition on it; the other selectors as (number, element test).
# Each selector appears once, so an element goes into its list once, as in an XPath union.
_Tests = tuple[tuple[tuple[str, tuple[tuple[int, Condition], ...]], ...], tuple[tuple[int, ElementTest], ...]]
Walk = Callable[[etree._Element], list[list[etree._Element]]]


class Finder:
    """Several selectors, each given with its simple_form: finder(root) gives, for each simple
    one, selector.xpath(root), all found in one walk of the tree (each element tested by the
    selectors that can match its tag); for any other, None (its XPath is the caller's to run)."""

    def __init__(self, selectors: Sequence[tuple[etree.XPath, tuple[Simple, ...] | None]]) -> None:
        forms = [form for _, form in selectors]
        self.count = len(forms)
        groups = [form or () for form in forms]  # (a selector that is not simple tests nothing)
        named = sorted({simple.tag for group in groups for simple in group if simple.tag is not None})
        by_tag = {tag: _tests_for(groups, tag) for tag in named}
        other = _tests_for(groups, None)  # for the tags no selector names
        any_tag = bool(other[0] or other[1])
        self.simple = [form is not None for form in forms]
        self.walk = _compiled_walk(self.count, by_tag, other, any_tag) if by_tag or any_tag else None

    def __call__(self, root: etree._Element) -> list[list[etree._Element] | None]:
        found = self.walk(root) if self.walk is not None else [[] for _ in range(self.count)]
        return [hits if simple else None for hits, simple in zip(found, self.simple, strict=True)]


def _tests_for(groups: Sequence[tuple[Simple, ...]], tag: str | None) -> _Tests:
    """The tests for an element of `tag` (None: of a tag no selector names)."""
    by_attribute: dict[str, list[tuple[int, Condition]]] = {}
    others: list[tuple[int, ElementTest]] = []
    for number, group in enumerate(groups):
        applicable = [simple for simple in group if simple.tag is None or simple.tag == tag]
        if len(applicable) == 1 and len(applicable[0].conditions) == 1:
            condition = applicable[0].conditions[0]
            by_attribute.setdefault(condition.name, []).append((number, condition))
        elif len(applicable) == 1:
            others.append((number, applicable[0].test))
        elif applicable:
            others.append((number, _any_of(tuple(applicable))))
    return tuple((name, tuple(tests)) for name, tests in by_attribute.items()), tuple(others)


def _any_of(group: tuple[Simple, ...]) -> ElementTest:
    return lambda element: any(simple.test(element) for simple in group)


def _compiled_walk(count: int, by_tag: dict[str, _Tests], other: _Tests, any_tag: bool) -> Walk:
    """The walk over the tree as one Python function written for these selectors: per tag an
    `if` branch with its tests inline, as a person would write it. Looping over the tests as
    data (a dict lookup per element, a loop per attribute, a lambda call per test) made Sina's
    rule's walk cost 29 µs an article; this one, 17. Every name and value from the rule reaches
    the function as a constant of its namespace, never as source text."""
    namespace: dict[str, object] = {"_split": _XML_SPACE.split, "_Element": etree.Element,
                                    "_tags": tuple(by_tag)}

    def constant(value: object) -> str:
        name = f"_k{len(namespace)}"
        namespace[name] = value
        return name

    def tests(indent: str, for_tag: _Tests) -> list[str]:
        by_attribute, others = for_tag
        lines = []
        for name, value_tests in by_attribute:
            # (The name as bytes: lxml encodes a str name on every get, ~25 ns of its ~110, 2 µs
            # of Sina's walk. The names are ASCII: cssselect's safe names, "class" and "id".)
            lines += [f"{indent}v = e.get({constant(name.encode('ascii'))})", f"{indent}if v is not None:"]
            for number, condition in value_tests:
                test = condition.expression.format(c=constant(condition.value))
                lines.append(f"{indent}    if {test}: found{number}.append(e)")
        for number, element_test in others:
            lines.append(f"{indent}if {constant(element_test)}(e): found{number}.append(e)")
        return lines or [f"{indent}pass"]

    lists = [f"found{number}" for number in range(count)]
    # (etree.Element: elements only, as XPath's `*`; no comments or processing instructions.)
    lines = ["def walk(root):", *(f"    {name} = []" for name in lists),
             f"    for e in root.iter({'_Element' if any_tag else '*_tags'}):", "        tag = e.tag"]
    for number, (tag, for_tag) in enumerate(by_tag.items()):
        lines += [f"        {'elif' if number else 'if'} tag == {constant(tag)}:", *tests(" " * 12, for_tag)]
    if any_tag:
        lines += ["        else:", *tests(" " * 12, other)] if by_tag else tests(" " * 8, other)
    lines.append(f"    return [{', '.join(lists)}]")
    exec(compile("\n".join(lines), "<selectors.Finder walk>", "exec"), namespace)
    walk: Walk = namespace["walk"]  # type: ignore[assignment]
    return walk
