"""Seed posts: Hexo-style Markdown files with YAML front matter and a raw HTML body."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from worker.core.dates import parse_date
from worker.core.types import InputError, ParsedEntry

_FRONT_MATTER = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)
# The archiver quoted titles in single quotes without escaping inner quotes, so
# `title: 'a 'b' "c"'` is invalid YAML. Such a line is re-quoted once; nothing else is guessed.
_QUOTED_LINE = re.compile(r"^(?P<key>\w+):[ \t]*(?P<q>['\"])(?P<value>.*)(?P=q)[ \t]*$", re.M)


def decode_seed(data: bytes, name: str) -> str:
    """Seed bytes as text; empty, binary and non-UTF-8 files are errors that name the file."""
    if not data.strip():
        raise InputError(f"{name}: empty file")
    if b"\x00" in data:
        raise InputError(f"{name}: binary file (contains NUL bytes), not a seed post")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 (invalid byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def _load_front_matter(text: str, name: str) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        repaired = _requote_lines(text)
        try:
            meta = yaml.safe_load(repaired) if repaired != text else None
        except yaml.YAMLError:
            meta = None
        if meta is None:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise InputError(f"{name}: front matter is not valid YAML{where}: {problem}") from None
    if not isinstance(meta, dict):
        raise InputError(f"{name}: front matter is not a mapping of fields")
    return meta


def _requote_lines(text: str) -> str:
    def requote(match: re.Match[str]) -> str:
        return f"{match['key']}: {json.dumps(match['value'], ensure_ascii=False)}"

    return _QUOTED_LINE.sub(requote, text)


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
    text = str(value).strip()
    return (text,) if text else ()


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_seed(data: bytes, name: str, zone: str = "Asia/Shanghai") -> ParsedEntry:
    """One seed file's bytes as a ParsedEntry; `name` (its path under the seeds folder) is its key."""
    text = decode_seed(data, name)
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise InputError(f"{name}: no YAML front matter (expected a '---' block at the top)")
    meta = _load_front_matter(match.group(1), name)
    title = _as_text(meta.get("title"))
    if title is None:
        raise InputError(f"{name}: front matter has no title")
    date_value = meta.get("date")
    published = parse_date(date_value, zone)
    if date_value is not None and published is None:
        raise InputError(f"{name}: unreadable date {date_value!r}")
    updated = parse_date(meta.get("updated"), zone) or published
    return ParsedEntry(
        entry_key=name,
        title=title,
        html=match.group(2),
        link=_as_text(meta.get("link") or meta.get("url") or meta.get("permalink")),
        author=_as_text(meta.get("author")),
        categories=tuple(dict.fromkeys(_as_tuple(meta.get("categories")) + _as_tuple(meta.get("tags")))),
        published=published,
        updated=updated,
        lead_image=_as_text(meta.get("headimg") or meta.get("thumbnail")),
        base_url=_as_text(meta.get("link") or meta.get("url")),
        canonical_link=_as_text(meta.get("canonical_url") or meta.get("canonical")),
    )
