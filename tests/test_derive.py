"""Derived fields: the counting shortcut in worker.core.derive gives the plain patterns' answers."""

from __future__ import annotations

import re

import pytest

from worker.core import derive
from worker.core.derive import guess_language, reading_length


def test_every_cjk_unified_ideograph_is_a_letter() -> None:
    # derive counts these runs as letters without running _LETTER over them
    assert all(derive._LETTER.fullmatch(chr(c)) for c in range(0x4E00, 0xA000))


def _plain_guess_language(text: str) -> str:
    """guess_language as it was written before the ideograph shortcut."""
    def count(pattern: re.Pattern[str], sample: str) -> int:
        return sum(map(len, pattern.findall(sample)))
    sample = text[:2000]
    letters = count(derive._LETTER, sample)
    if letters < 10:
        return "und"
    cjk = count(derive._CJK, sample)
    if cjk * 5 >= letters:
        return "ja" if count(derive._KANA, sample) * 5 >= cjk else "zh"
    return "en" if count(derive._ASCII_LETTERS, sample) * 10 >= letters * 8 else "und"


@pytest.mark.parametrize("text", [
    "北京 AI 裁判 works well",
    "中文English混排的句子，包括数字123和 it's a well-known 3.5% 涨幅。",
    "abc中def ghi jkl mno",
    "ひらがなとカタカナと漢字の文章です。",
    "漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字かな",
    "한국어 문장입니다 한국어 문장입니다",
    "\U00020000\U0002a6d6 𠀀 rare ideographs and some more words",
    "中文" * 5 + "English words are the larger part of this sentence, by far",
    "",
    "123 456 ² ½ ①",
])
def test_guess_language_matches_the_plain_count(text: str) -> None:
    assert guess_language(text) == _plain_guess_language(text)


def test_reading_length_example() -> None:
    assert reading_length("北京 AI 裁判 works well") == 7


@pytest.mark.parametrize(("text", "language"), [
    ("这是一篇关于北京消费帮扶工作的文章，内容丰富。", "zh"),
    ("これは日本語の文章です。ひらがなとカタカナが多い。", "ja"),
    ("This is an English article about consumer support in Beijing.", "en"),
    ("Это статья на русском языке о потреблении.", "und"),
    ("短", "und"),
    ("中" * 3000 + "english words " * 100, "zh"),
    ("english words " * 300 + "中" * 3000, "en"),
])
def test_guess_language(text: str, language: str) -> None:
    assert guess_language(text) == language


def test_split_ideographs_counts_and_separates() -> None:
    count, rest = derive._split_ideographs("ab北京cd。上")
    assert count == 3
    assert re.sub(" ", "", rest) == "abcd。"
    assert derive._LATIN_WORD.findall(rest) == ["ab", "cd"]


@pytest.mark.parametrize(("url", "placeholder"), [
    ("https://picsum.photos/200/300", True),
    ("https://i.picsum.photos/id/1/200/300.jpg", True),
    ("https://notpicsum.photos/a.jpg", False),
    ("https://n.sinaimg.cn/finance/a/b.jpg", False),
    ("http://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png", True),
    ("/relative.png", True),
    (None, True),
])
def test_is_placeholder_image(url: str | None, placeholder: bool) -> None:
    assert derive.is_placeholder_image(url) is placeholder
