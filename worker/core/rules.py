"""Site cleaning rules as data (config/rules/*.yaml), matched to a source by domain or category.

A rule file holds one rule or a `rules:` list. A rule has a `name`, a `match` block
(`domains`, `url_patterns`, `categories`; any hit matches) and actions, applied in this order:
`remove` (CSS selectors; element and contents go), `unwrap` (keep the contents, drop the tag),
`rename` (selector -> tag), `drop_text` (regexes; a block element whose whole text matches goes).

`content` (CSS selectors, issue 8) is not a cleaning action: it names the element that holds the
article on the site's own pages (Sina's `#artibody`), for full-text extraction (worker.core.extract).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml
from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from worker.core.types import InputError

_TRANSLATOR = HTMLTranslator()


@dataclass(frozen=True)
class Selector:
    css: str
    xpath: etree.XPath


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
    content: tuple[Selector, ...] = ()  # the article element of the site's pages, first hit wins

    def matches(self, urls: Iterable[str | None], categories: Iterable[str]) -> bool:
        if set(self.categories) & set(categories):
            return True
        for url in urls:
            if not url:
                continue
            host = (urlsplit(url).hostname or "").lower()
            if any(host == d or host.endswith("." + d) for d in self.domains):
                return True
            if any(p.search(url) for p in self.url_patterns):
                return True
        return False


def compile_selector(css: str, origin: str) -> Selector:
    try:
        return Selector(css, etree.XPath(_TRANSLATOR.css_to_xpath(css)))
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


def _rule(data: Any, origin: str) -> Rule:
    if not isinstance(data, dict) or not data.get("name"):
        raise InputError(f"{origin}: every rule needs a mapping with a `name`")
    where = f"{origin} rule {data['name']!r}"
    match = data.get("match") or {}
    rename = data.get("rename") or {}
    if not isinstance(match, dict) or not isinstance(rename, dict):
        raise InputError(f"{where}: `match` and `rename` must be mappings")
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
        content=tuple(compile_selector(s, where) for s in _strings(data.get("content"), "content", where)),
    )


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
    urls, categories = tuple(urls), tuple(categories)
    return tuple(rule for rule in rules if rule.matches(urls, categories))
