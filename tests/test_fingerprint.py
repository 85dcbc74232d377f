from __future__ import annotations

import re
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from worker.core.fingerprint import content_hash, normalise_text
from worker.core.nfkc import code_points, from_code_points, nfkc, nfkc_form
from worker.core.text import _SENTENCE_END, summarize

LONG = "北京市多措并举推动消费帮扶工作取得新成效。" * 20


def test_hash_is_versioned_sha256() -> None:
    value = content_hash(LONG)
    assert value.startswith("v2:") and len(value) == 3 + 64


def test_width_and_whitespace_do_not_change_the_hash() -> None:
    spaced = "北京市 多措并举。" * 30
    assert content_hash(spaced) == content_hash("  " + spaced.replace(" ", "\u3000\n\t ") + "\n")
    assert normalise_text("ＡＢＣ　１２３，") == "ABC 123,"
    assert normalise_text("买 入 🛒\n5819 扫码 and more words") == "买入🛒5819扫码and more words"


def test_v2_hash_values_are_pinned() -> None:
    """Stored `v2:` hashes must keep matching: these are the values of the first v2 code."""
    assert content_hash(LONG) == "v2:07cd7ea9c3c1a98cf9889d57f138ea3b0957104288a0222be1dd9c444d9f2a8f"
    mixed = "  Ｆｕｌｌ－ｗｉｄｔｈ　ＡＢＣ，半角 and 全角… ①② café\u00a0\u2028line\tend 🛒 买 入 "
    expected = "v2:d7b96c486f359889a0c1300203f0b26040f4d82d471c66eb2ed9f1e6c46685a0"
    assert content_hash(mixed, "标题") == expected


# The v2 definition as first written (two regexes): normalise_text must match it byte for byte.
_WHITESPACE = re.compile(r"\s+")
_SPACE_BY_WIDE = re.compile(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ")


def _v2_definition(text: str) -> str:
    folded = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return _SPACE_BY_WIDE.sub("", folded)


# What feeds mix: ASCII, every kind of whitespace \s knows, CJK and its punctuation, full-width
# and other compatibility forms (NFKC changes them), combining marks, emoji beyond the BMP.
_FEED_CHARS = st.sampled_from(list(
    "ab Z09.,-_'\"" "\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u3000"
    "中文字。，、：（）“”「」《》…・ｱﾞ" "ＡＺａｚ０９，．：！？　～" "①⑴㎡℃™ﬁ½²ＡⅫ"
    "é\u0301\u0308\u0323ñÅ" "🛒😀𝐀𠀀"
))
_FEED_TEXT = st.lists(st.one_of(_FEED_CHARS, st.characters()), max_size=80).map("".join)


@given(_FEED_TEXT)
@example("Ａ\u0301 … ① ｶﾞ")  # a full-width letter composing with the mark after it
@example(" 中 a  b\u3000文\n\t c 🛒 d ")
def test_normalise_text_is_the_v2_definition(text: str) -> None:
    assert normalise_text(text) == _v2_definition(text)


@given(st.one_of(_FEED_TEXT, st.text()))
@example("半角… and 全角，")  # the ellipsis goes after the table: same string
@example("ab\U0001d400ＡＢ\ud800")  # beyond the BMP and a lone surrogate keep their code points
@example("\uffffＡ")  # U+FFFF, as the table gives characters beyond the BMP, and none of those
@example("\uffffＡ\U0001f6d2")  # ... and with one
def test_fast_nfkc_is_nfkc(text: str) -> None:
    expected = unicodedata.normalize("NFKC", text)
    assert nfkc(text) == expected
    assert from_code_points(code_points(text)) == text
    assert from_code_points(code_points(text + text)[::2]) == (text + text)[::2]  # strided
    for form in (nfkc_form(text), nfkc_form(text, code_points(text))):
        assert form.text == expected and form.is_of(text)
        assert form.codes.dtype == "uint32"
        assert form.codes.tobytes() == expected.encode("utf-32-le", "surrogatepass")


@given(_FEED_TEXT, st.sampled_from(["", "标题", "Ｔｉｔｌｅ　１"]), st.sampled_from([0, 5, 120]))
def test_content_hash_with_the_nfkc_form_given(text: str, title: str, short: int) -> None:
    """The pipeline hands content_hash the form it computed for the sketch: the same hash, and a
    form of another text is not used."""
    try:
        expected = content_hash(text, title, short)
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8, with or without the form
        return
    assert content_hash(text, title, short, nfkc_form(text)) == expected
    assert content_hash(text, title, short, nfkc_form(text + "x")) == expected


def test_short_bodies_are_keyed_with_their_title() -> None:
    assert content_hash("在网页中查看", "标题一") != content_hash("在网页中查看", "标题二")
    assert content_hash(LONG, "标题一") == content_hash(LONG, "标题二")


def _summarize_as_first_written(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit + 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]].strip()
    return head[:limit].rstrip() + "…"


_SUMMARY_PIECES = st.one_of(_FEED_CHARS, st.sampled_from(["。", ". ", "\n\n\n", " " * 9]))


@given(st.lists(_SUMMARY_PIECES, max_size=300).map("".join), st.integers(min_value=-2, max_value=60))
@example("x" * 300, 200)
@example(" " * 700 + "a" * 300, 200)  # the folded start is nothing
@example("a " * 100 + "b" * 300, 200)  # ... or exactly the limit: the whole text is folded
@example("a " * 101 + "b" * 300, 200)
def test_summary_folds_only_the_start_it_needs(text: str, limit: int) -> None:
    assert summarize(text, limit) == _summarize_as_first_written(text, limit)


def test_summary_cuts_at_sentence_end() -> None:
    text = "第一句话。" * 30 + "结尾"
    summary = summarize(text, 50)
    assert summary.endswith("。") and len(summary) <= 50
    assert summarize("short text") == "short text"
    assert summarize("x" * 300, 200) == "x" * 200 + "…"
