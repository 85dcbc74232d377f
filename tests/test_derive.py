"""Derived fields: worker.core.derive's table counts give the plain patterns' answers."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from worker.core import derive
from worker.core.derive import guess_language, reading_length, reading_length_and_language

# The definitions, as first written: derive counts with a code point table instead.
_CJK = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ffff]+"
)
_KANA = re.compile(r"[\u3040-\u30ff]+")
_ASCII_LETTERS = re.compile(r"[A-Za-z]+")
_LATIN_CHAR = r"[A-Za-z0-9\u00c0-\u024f]"
_JOINER = r"['’.-]"
_LATIN_WORD = re.compile(rf"{_LATIN_CHAR}+(?:{_JOINER}{_LATIN_CHAR}+)*")
_LETTER = re.compile(r"[^\W\d_]+")


def _count(pattern: re.Pattern[str], text: str) -> int:
    return sum(map(len, pattern.findall(text)))


def _plain_reading_length(text: str) -> int:
    return _count(_CJK, text) + len(_LATIN_WORD.findall(text))


def _plain_guess_language(text: str) -> str:
    sample = text[:2000]
    letters = _count(_LETTER, sample)
    if letters < 10:
        return "und"
    cjk = _count(_CJK, sample)
    if cjk * 5 >= letters:
        return "ja" if _count(_KANA, sample) * 5 >= cjk else "zh"
    return "en" if _count(_ASCII_LETTERS, sample) * 10 >= letters * 8 else "und"


def test_class_bits_are_the_patterns_for_every_code_point() -> None:
    every = "".join(map(chr, range(0x110000)))  # lone surrogates included
    classes = derive.classify(every)
    for bit, pattern in ((derive.CJK, _CJK), (derive.KANA, _KANA), (derive.ASCII_LETTER, _ASCII_LETTERS),
                         (derive.LATIN, re.compile(_LATIN_CHAR + "+")), (derive.JOINER, re.compile(_JOINER)),
                         (derive.LETTER, _LETTER)):
        expected = np.zeros(len(every), dtype=bool)
        for match in pattern.finditer(every):
            expected[match.start():match.end()] = True
        assert np.array_equal((classes & bit) != 0, expected), pattern.pattern


# What feeds mix, and what the patterns treat specially: joiners next to each other and to
# non-word characters, Latin-1/Extended-A letters, digits that are letters (² ½ ①) or not, kana,
# hangul, compatibility ideographs, CJK beyond the BMP, emoji, combining marks, lone surrogates.
_TEXT_CHARS = st.sampled_from(list(
    "ab Z09 '’.-_\t\n" "北京中文字。，ひらがなカタカナ한국어豈" "ÀÿĀɏɐé\u0301²½①٣"
    "\U00020000\U0002a6d6🛒𝐀\ud800"
))
_TEXT = st.lists(st.one_of(_TEXT_CHARS, st.characters()), max_size=60).map("".join)


@given(_TEXT, st.integers(min_value=1, max_value=80))
@example("北京 AI 裁判 works well", 1)
@example("中文English混排的句子，包括数字123和 it's a well-known 3.5% 涨幅。", 1)
@example("a-'b c..d e’f -g h- 'i' ..", 1)
@example("ひらがなとカタカナと漢字の文章です。", 1)
@example("漢字" * 10 + "かな", 1)
@example("한국어 문장입니다 한국어 문장입니다", 1)
@example("\U00020000\U0002a6d6 𠀀 rare ideographs and some more words", 1)
@example("123 456 ² ½ ①", 1)
@example("", 1)
@example("中文" * 5 + "English words are the larger part of this sentence, by far", 1)
@example("english words x", 150)  # the language sample ends inside the text
def test_counts_are_the_plain_patterns(text: str, repeat: int) -> None:
    text *= repeat
    expected = (_plain_reading_length(text), _plain_guess_language(text))
    assert (reading_length(text), guess_language(text)) == expected
    assert reading_length_and_language(text) == expected


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
    assert reading_length_and_language(text)[1] == language


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
