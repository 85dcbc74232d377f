"""The pure half of full text (issue 8): the decision, extraction, rule `content`, page decoding."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.pages import AD, CHROME_TEXTS, COMMENTS, NAV, article_page
from worker.core.clean import clean_html
from worker.core.decode import decode_html
from worker.core.extract import extract_main_content
from worker.core.fulltext import (
    SUMMARY_ENDINGS,
    decide_full_text,
    full_text_fetch_reason,
    parse_full_text_mode,
    summary_ending,
)
from worker.core.rules import parse_rules
from worker.core.types import InputError

LONG = "这是一段完整的正文，讲述了事情的来龙去脉。" * 30  # 630 characters
BODY = "".join(f"<p>第{i}段：{LONG[:120]}</p>" for i in range(6))
SINA_RULE = parse_rules("name: sina\nmatch: {domains: [sina.com.cn]}\ncontent: '#artibody'\n", "t.yaml")


@pytest.mark.parametrize(("mode", "text", "fetch", "reason"), [
    ("never", "", False, "full text is off for this source"),
    ("always", LONG, True, "full text always fetched for this source"),
    ("auto", "", True, "the feed entry has no text"),
    ("auto", "央行宣布降准。", True, "the feed text is 7 characters (< 300)"),
    ("auto", LONG + "阅读全文", True, "the feed text ends with '阅读全文'"),
    ("auto", LONG + "…", True, "the feed text ends with '…'"),
    ("auto", "The story begins here " * 20 + "Read more »", True, "the feed text ends with 'read more'"),
    ("auto", "The story begins here " * 20 + "[...]", True, "the feed text ends with '[...]'"),
    ("auto", LONG, False, "the feed text looks complete (630 characters)"),
    ("bogus", "", True, "the feed entry has no text"),  # unknown modes act as the default
])
def test_decide_full_text(mode: str, text: str, fetch: bool, reason: str) -> None:
    decision = decide_full_text(mode, text, "https://example.com/a", min_chars=300)
    assert (decision.fetch, decision.reason) == (fetch, reason)


# Texts long enough for full_text_fetch_reason's shortcut, with what could fool it near the ends:
# whitespace runs, decoration, endings cut by the fold, final sigmas and other case changes.
_PIECES = st.sampled_from([
    *SUMMARY_ENDINGS, *[ending.upper() for ending in SUMMARY_ENDINGS], "事情的来龙去脉。", "word ", " ", "  ",
    "\t\n", "\u3000", "\xa0", "»", "›", "→", ">", "＞", "ΑΣ", "Σ", "ς", "İ", "ẞ", "read", " more", "\u2028",
    " " * 40, "»" * 40, "\n \t" * 15,
])
_TEXTS = st.lists(_PIECES, max_size=60).map("".join)


@given(st.integers(0, 700), _TEXTS, _TEXTS, st.sampled_from(["auto", "bogus", "always", "never"]),
       st.sampled_from([300, 1, 0, 50]))
@example(400, "", "Read  the\n full  article »»", "auto", 300)
@example(600, "", " " * 90, "auto", 300)
def test_full_text_fetch_reason_is_the_decision(
    filler: int, head: str, tail: str, mode: str, min_chars: int,
) -> None:
    for text in (head + "正" * filler + tail, head + " 字" * filler + tail, head + tail):
        decision = decide_full_text(mode, text, "https://example.com/a", min_chars)
        expected = decision.reason if decision.fetch else None
        assert full_text_fetch_reason(mode, text, "https://example.com/a", min_chars) == expected
    assert full_text_fetch_reason(mode, head + tail, None, min_chars) is None


def test_no_link_no_fetch() -> None:
    assert decide_full_text("always", "", None).fetch is False


def test_summary_endings() -> None:
    assert summary_ending("正文……") == "…"
    assert summary_ending("Continue reading →") == "continue reading"
    assert summary_ending("句子结束。") is None


def test_parse_full_text_mode() -> None:
    assert parse_full_text_mode(" Always ") == "always"
    with pytest.raises(InputError, match=r"sources.yaml: 'sometimes' is not one of never, auto, always"):
        parse_full_text_mode("sometimes", "sources.yaml")


def test_rule_content_key() -> None:
    (rule,) = SINA_RULE
    assert [s.css for s in rule.content] == ["#artibody"]
    with pytest.raises(InputError, match="bad CSS selector"):
        parse_rules("name: x\ncontent: 'div[['\n", "bad.yaml")


def test_extract_by_rule_takes_the_named_element() -> None:
    page = article_page("标题", BODY).decode()
    found = extract_main_content(page, ["https://finance.sina.com.cn/a.shtml"], SINA_RULE)
    assert found is not None and found.content_source == "page (rule sina)"
    text = clean_html(found.html).text
    assert "第5段" in text and not any(chrome in text for chrome in CHROME_TEXTS)


def test_extract_without_rule_uses_readability() -> None:
    page = article_page("标题", BODY, body_id="story").decode()
    found = extract_main_content(page, ["https://news.example.com/a"], SINA_RULE)
    assert found is not None and found.content_source == "page (readability)"
    text = clean_html(found.html).text
    assert "第0段" in text and "第5段" in text
    assert NAV not in text and AD not in text and COMMENTS[0] not in text


def test_rule_without_match_falls_back_to_readability() -> None:
    page = article_page("标题", BODY, body_id="story").decode()  # no #artibody on this page
    found = extract_main_content(page, ["https://finance.sina.com.cn/a.shtml"], SINA_RULE)
    assert found is not None and found.method == "readability"


def test_extract_nothing_from_nothing() -> None:
    assert extract_main_content("", ["https://a.example"], ()) is None


@pytest.mark.parametrize("meta", ["charset", "http-equiv"])
def test_gbk_page_declared_only_in_meta(meta: str) -> None:
    data = article_page("新浪财经", BODY, charset="gbk", meta=meta)
    decoded = decode_html(data, "text/html")  # no charset in the header
    assert (decoded.encoding, decoded.evidence) == ("gb18030", "meta")
    assert "\ufffd" not in decoded.text and "第0段：这是一段完整的正文" in decoded.text


def test_header_charset_wins_over_meta_when_it_decodes() -> None:
    data = article_page("标题", BODY, charset="utf-8").replace(b'charset="utf-8"', b'charset="gbk"')
    decoded = decode_html(data, "text/html; charset=utf-8")
    assert (decoded.encoding, decoded.evidence) == ("utf-8", "http")
    assert "这是一段完整的正文" in decoded.text


def test_wrong_meta_falls_through_to_utf8() -> None:
    data = article_page("标题", BODY, charset="utf-8").replace(b'charset="utf-8"', b'charset="big5"')
    decoded = decode_html(data)
    assert decoded.encoding == "utf-8" and "这是一段完整的正文" in decoded.text
