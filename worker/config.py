"""Shipped configuration files: site rules (config/rules/*.yaml) and sources (config/sources.yaml)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import yaml

from worker.core.fulltext import parse_full_text_mode
from worker.core.rules import Rule, parse_rules
from worker.core.types import InputError

log = logging.getLogger(__name__)
_cache: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[Rule, ...]] = {}


def load_rules(folder: Path) -> tuple[Rule, ...]:
    """All rules in `folder`; re-read only when a file changes. A broken file is logged and skipped,
    so one bad rule never stops cleaning."""
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
    key = (str(folder), tuple((str(f), f.stat().st_mtime_ns) for f in files))
    if key not in _cache:  # (so a missing folder is reported once, not for every seed file)
        if not folder.is_dir():
            log.warning("rules folder %s does not exist: articles get generic cleaning only", folder)
        rules: list[Rule] = []
        for file in files:
            try:
                rules.extend(parse_rules(file.read_text(encoding="utf-8"), str(file)))
            except (InputError, OSError, UnicodeDecodeError) as exc:
                log.error("skipping rules file: %s", exc)
        _cache.clear()
        _cache[key] = tuple(rules)
    return _cache[key]


@dataclass(frozen=True)
class SourceConfig:
    url: str
    title: str | None = None
    interval_minutes: int | None = None
    full_text: str | None = None  # "never", "auto" or "always"; None: leave the source's setting


def load_sources(path: Path) -> list[SourceConfig]:
    """The sources file: a YAML list under `sources:` of {url, title, interval_minutes, full_text}."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:  # neither names the file
        raise InputError(f"{path}: not a valid sources file: {exc}") from None
    items = data.get("sources") or [] if isinstance(data, dict) else []
    sources = []
    for item in items:
        if isinstance(item, str):
            sources.append(SourceConfig(url=item))
        elif isinstance(item, dict) and item.get("url"):
            sources.append(SourceConfig(
                url=str(item["url"]), title=item.get("title"),
                interval_minutes=item.get("interval_minutes"),
                full_text=None if item.get("full_text") is None
                else parse_full_text_mode(item["full_text"], f"{path}: source {item['url']} full_text"),
            ))
        else:
            raise InputError(f"{path}: each source needs a `url`")
    return sources
