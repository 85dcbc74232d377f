"""Seed parsing on the real seed post and on every way a seed file can be broken."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import FIXTURES
from worker.core.seed import parse_seed
from worker.core.types import InputError


def _post(front: str, body: str = "<p>body</p>") -> bytes:
    return f"\n---\n{front}\n---\n\n{body}\n".encode()


def test_real_seed_fields(seed_bytes: bytes) -> None:
    entry = parse_seed(seed_bytes, "000_c783d7c486dca3b2.txt")
    assert entry.title == "北京市多措并举推动消费帮扶工作取得新成效"
    assert entry.categories == ("金融", "新浪财经", "新浪财经－国內")
    assert entry.author == "新浪财经"
    assert entry.published == datetime(2022, 2, 22, 3, 1, 31, tzinfo=UTC)
    assert entry.lead_image == "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"
    assert entry.entry_key == "000_c783d7c486dca3b2.txt"
    assert entry.link is None
    assert entry.html.lstrip().startswith("<div>")
    assert "---" not in entry.html[:10]


def test_corpus_posts_parse() -> None:
    entry = parse_seed((FIXTURES / "posts" / "sina_ai_basketball_referee.md").read_bytes(), "p.md")
    assert entry.title.startswith("AI 篮球裁判火了")
    assert entry.published == datetime(2022, 7, 31, 6, 13, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Tue, 22 Feb 2022 03:01:31 GMT", datetime(2022, 2, 22, 3, 1, 31, tzinfo=UTC)),
        ("2022-09-13 10:00:00", datetime(2022, 9, 13, 2, 0, 0, tzinfo=UTC)),  # Asia/Shanghai
        ("2022-09-13", datetime(2022, 9, 12, 16, 0, 0, tzinfo=UTC)),
    ],
)
def test_date_formats_and_naive_zone(value: str, expected: datetime) -> None:
    entry = parse_seed(_post(f"title: t\ndate: {value}"), "d.md")
    assert entry.published == expected


def test_naive_zone_is_configurable() -> None:
    entry = parse_seed(_post("title: t\ndate: 2022-09-13 10:00:00"), "d.md", zone="UTC")
    assert entry.published == datetime(2022, 9, 13, 10, tzinfo=UTC)


def test_categories_as_string_and_tags() -> None:
    entry = parse_seed(_post("title: t\ncategories: 科技\ntags: [AI, 科技]"), "c.md")
    assert entry.categories == ("科技", "AI")


def test_title_with_both_quote_kinds_is_repaired() -> None:
    entry = parse_seed(_post("title: '他说 'Yes' 与 \"No\"'\ndate: 2022-09-13"), "q.md")
    assert entry.title == "他说 'Yes' 与 \"No\""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "q.md: empty file"),
        (b"  \n\n", "q.md: empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "q.md: binary file"),
        ("---\ntitle: 北京\n---\n<p>x</p>".encode("gb18030"), "q.md: not UTF-8"),
        (b"<p>just html</p>", "q.md: no YAML front matter"),
        (b"---\ntitle: [unclosed\n---\n<p>x</p>", "q.md: front matter is not valid YAML"),
        (b"---\n- a list\n---\n<p>x</p>", "q.md: front matter is not a mapping"),
        (b"---\nauthor: x\n---\n<p>x</p>", "q.md: front matter has no title"),
        (b"---\ntitle: t\ndate: yesterday-ish\n---\n<p>x</p>", "q.md: unreadable date"),
    ],
)
def test_broken_seeds_raise_errors_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_seed(data, "q.md")
    assert str(caught.value).startswith(message)
