"""Site cleaning rules as data (config/rules/*.yaml), matched to a source by domain or category.

A rule file holds one rule or a `rules:` list. A rule has a `name`, a `match` block
(`domains`, `url_patterns`, `categories`; any hit matches; `all: true` matches every article) and
actions, applied in this order: `remove` (CSS selectors; element and contents go), `unwrap` (keep
the contents, drop the tag), `rename` (selector -> tag), `attributes` (attribute filters: for the
elements a selector picks, `drop` the named attributes or `keep` only the named ones, optionally
only `when` the value matches a regex), `drop_text` (regexes searched in the text of every leaf
block; a block that matches goes).

`content` (CSS selectors, issue 8) is not a cleaning action: it names the element that holds the
article on the site's own pages (Sina's `#artibody`), for full-text extraction (worker.core.extract).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from worker.core.selectors import Finder, Simple, simple_form
from worker.core.types import InputError
from worker.core.urls import host

_TRANSLATOR = HTMLTranslator()


@dataclass(frozen=True)
class Selector:
    css: str
    xpath: etree.XPath
    # The same selector as Python tests, if it only looks at an element's own tag and attributes
    # (worker.core.selectors): what lets a Finder match several in one walk.
    simple: tuple[Simple, ...] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AttributeFilter:
    """`drop` names attributes to remove; `keep` (if set) names the only ones to keep; `when`
    limits either to attribute values that match."""

    selector: Selector
    drop: tuple[str, ...] = ()
    keep: tuple[str, ...] | None = None
    when: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    domains: tuple[str, ...] = ()
    url_patterns: tuple[re.Pattern[str], ...] = ()
    categories: tuple[str, ...] = ()
    remove: tuple[Selector, ...] = ()
    unwrap: tuple[Selector, ...] = ()
    rename: tuple[tuple[Selector, str], ...] = ()
    drop_text: tuple[re.Pattern[str], ...] = ()
    attributes: tuple[AttributeFilter, ...] = ()
    match_all: bool = False
    # A literal every drop_text match must contain (None: some pattern has none): lets the
    # cleaner skip the per-block pass for articles that cannot match (most of them).
    drop_text_literals: tuple[str, ...] | None = None
    content: tuple[Selector, ...] = ()  # the article element of the site's pages, first hit wins
    # ".domain" per domain: "." + host ends with one of them exactly when host is a domain or
    # a subdomain of one (one str.endswith call per URL instead of a loop per domain).
    _domain_suffixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    # The remove, unwrap and first rename selectors, found in one pass (see clean.apply_rule).
    finder: Finder = field(init=False, repr=False, compare=False)
    # drop_text_literals as UTF-8, looked for in the body's text as UTF-8 (see clean._drop_text).
    # (A lone surrogate, which no tree's text holds, is kept as bytes no valid UTF-8 holds.)
    drop_text_needles: tuple[bytes, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_domain_suffixes", tuple("." + d for d in self.domains))
        literals = self.drop_text_literals
        object.__setattr__(self, "drop_text_needles", None if literals is None else
                           tuple(literal.encode("utf-8", "surrogatepass") for literal in literals))
        found_at_once = (*self.remove, *self.unwrap, *(s for s, _ in self.rename[:1]))
        object.__setattr__(self, "finder", Finder([(s.xpath, s.simple) for s in found_at_once]))

    def matches(self, urls: Iterable[str | None], categories: Iterable[str]) -> bool:
        if self.match_all or set(self.categories) & set(categories):
            return True
        return any(self._matches_url(url, _host(url)) for url in urls if url)

    def _matches_url(self, url: str, host: str) -> bool:
        return self._matches_dotted(url, "." + host)

    def _matches_dotted(self, url: str, dotted_host: str) -> bool:
        if self._domain_suffixes and dotted_host.endswith(self._domain_suffixes):
            return True
        return any(p.search(url) for p in self.url_patterns) if self.url_patterns else False


def compile_selector(css: str, origin: str) -> Selector:
    try:
        return Selector(css, etree.XPath(_TRANSLATOR.css_to_xpath(css)), simple_form(css))
    except (SelectorError, etree.XPathSyntaxError) as exc:
        raise InputError(f"{origin}: bad CSS selector {css!r}: {exc}") from None


def _compile_regex(pattern: str, origin: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InputError(f"{origin}: bad pattern {pattern!r}: {exc}") from None


def _strings(value: Any, field: str, origin: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InputError(f"{origin}: `{field}` must be a string or a list of strings")


def _attribute_filter(data: Any, where: str) -> AttributeFilter:
    if not isinstance(data, dict) or not data.get("select"):
        raise InputError(f"{where}: every `attributes` entry needs a `select` selector")
    keep = data.get("keep")
    when = data.get("when")
    return AttributeFilter(
        selector=compile_selector(str(data["select"]), where),
        drop=tuple(a.lower() for a in _strings(data.get("drop"), "drop", where)),
        keep=None if keep is None else tuple(a.lower() for a in _strings(keep, "keep", where)),
        when=None if when is None else _compile_regex(str(when), where),
    )


def _rule(data: Any, origin: str) -> Rule:
    if not isinstance(data, dict) or not data.get("name"):
        raise InputError(f"{origin}: every rule needs a mapping with a `name`")
    where = f"{origin} rule {data['name']!r}"
    match = data.get("match") or {}
    rename = data.get("rename") or {}
    attributes = data.get("attributes") or []
    if not isinstance(match, dict) or not isinstance(rename, dict):
        raise InputError(f"{where}: `match` and `rename` must be mappings")
    if not isinstance(attributes, list):
        raise InputError(f"{where}: `attributes` must be a list")
    return Rule(
        name=str(data["name"]),
        domains=tuple(d.lower() for d in _strings(match.get("domains"), "domains", where)),
        url_patterns=tuple(
            _compile_regex(p, where) for p in _strings(match.get("url_patterns"), "url_patterns", where)
        ),
        categories=_strings(match.get("categories"), "categories", where),
        remove=tuple(compile_selector(s, where) for s in _strings(data.get("remove"), "remove", where)),
        unwrap=tuple(compile_selector(s, where) for s in _strings(data.get("unwrap"), "unwrap", where)),
        rename=tuple((compile_selector(str(s), where), str(tag)) for s, tag in rename.items()),
        drop_text=tuple(
            _compile_regex(p, where) for p in _strings(data.get("drop_text"), "drop_text", where)
        ),
        attributes=tuple(_attribute_filter(a, where) for a in attributes),
        match_all=match.get("all") is True,
        drop_text_literals=required_literals(_strings(data.get("drop_text"), "drop_text", where)),
        content=tuple(compile_selector(s, where) for s in _strings(data.get("content"), "content", where)),
    )


_META = set("\\.^$*+?{}[]|()")


def required_literals(patterns: Iterable[str]) -> tuple[str, ...] | None:
    """The plain-text start of each pattern (after `^`); None if any pattern has none."""
    literals = []
    for pattern in patterns:
        body = pattern[1:] if pattern.startswith("^") else pattern
        if "|" in body:
            return None
        literal = ""
        for char in body:
            if char in _META:
                if char in "?*{" and literal:  # the quantifier makes the last char optional
                    literal = literal[:-1]
                break
            literal += char
        # whitespace is folded before matching, so a literal with spaces may not be in raw text
        literal = literal.split(" ")[0]
        if not literal:
            return None
        literals.append(literal)
    return tuple(literals)


def parse_rules(text: str, origin: str) -> tuple[Rule, ...]:
    """Rules from one YAML document; errors name `origin` (the file) and the rule."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{origin}: not valid YAML: {exc}") from None
    if data is None:
        return ()
    items = data.get("rules") if isinstance(data, dict) and "rules" in data else [data]
    if not isinstance(items, list):
        raise InputError(f"{origin}: `rules` must be a list")
    return tuple(_rule(item, origin) for item in items)


def matching_rules(
    rules: Iterable[Rule], urls: Iterable[str | None], categories: Iterable[str]
) -> tuple[Rule, ...]:
    """Site-specific rules first, then the ones for every article (they are the catch-all)."""
    answers = _HOSTS_MEMO.for_rules(rules)
    if answers is None:
        return _matching_rules(rules, urls, categories)
    urls, categories = tuple(urls), tuple(categories)
    try:
        key = (tuple("." + _host(url) for url in dict.fromkeys(urls) if url), categories)
    except ValueError:  # raised again, where it always was
        return _matching_rules(rules, urls, categories)
    found = answers.get(key)
    if found is None:
        if len(answers) >= _HostsMemo.SIZE:
            answers.clear()
        found = answers[key] = _matching_rules(rules, urls, categories)
    return found


_Answers = dict[tuple[tuple[str, ...], tuple[str, ...]], tuple["Rule", ...]]


class _HostsMemo:
    """matching_rules' answers by (hosts, categories) for one rule tuple (load_rules returns the
    same tuple until a file changes): the entries of a feed share their hosts and categories. Only
    for rules without url_patterns, the one part of matching that reads more than the host."""

    SIZE = 4096  # answers kept before starting over

    def __init__(self) -> None:
        # One attribute, read and written whole, so threads never pair one tuple with another's
        # answers; holding the tuple means `is` never meets a reused id.
        self.slot: tuple[tuple[Rule, ...] | None, _Answers | None] = (None, None)

    def for_rules(self, rules: Iterable[Rule]) -> _Answers | None:
        held, answers = self.slot
        if rules is not held:
            if type(rules) is not tuple:  # a list may change under us
                return None
            answers = None if any(rule.url_patterns for rule in rules) else {}
            self.slot = (rules, answers)
        return answers


_HOSTS_MEMO = _HostsMemo()


def _matching_rules(
    rules: Iterable[Rule], urls: Iterable[str | None], categories: Iterable[str]
) -> tuple[Rule, ...]:
    urls, categories = tuple(urls), tuple(categories)
    try:  # each URL's host once, not once per rule
        hosted = [(url, "." + _host(url)) for url in dict.fromkeys(urls) if url]
    except ValueError:  # an unparsable URL: let each rule meet it (and raise) as Rule.matches does
        found = [rule for rule in rules if rule.matches(urls, categories)]
    else:
        wanted = set(categories)
        found = []
        for rule in rules:  # (plain loops: this runs for every rule on every entry)
            if rule.match_all or not wanted.isdisjoint(rule.categories):
                found.append(rule)
                continue
            for url, dotted_host in hosted:
                if rule._matches_dotted(url, dotted_host):
                    found.append(rule)
                    break
    return tuple(sorted(found, key=lambda rule: rule.match_all))


def _host(url: str) -> str:
    return host(url)
