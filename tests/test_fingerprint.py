from __future__ import annotations

from worker.core.fingerprint import content_hash, normalise_text
from worker.core.text import summarize

LONG = "北京市多措并举推动消费帮扶工作取得新成效。" * 20


def test_hash_is_versioned_sha256() -> None:
    value = content_hash(LONG)
    assert value.startswith("v2:") and len(value) == 3 + 64


def test_width_and_whitespace_do_not_change_the_hash() -> None:
    spaced = "北京市 多措并举。" * 30
    assert content_hash(spaced) == content_hash("  " + spaced.replace(" ", "\u3000\n\t ") + "\n")
    assert normalise_text("ＡＢＣ　１２３，") == "ABC 123,"
    assert normalise_text("买 入 🛒\n5819 扫码 and more words") == "买入🛒5819扫码and more words"


def test_short_bodies_are_keyed_with_their_title() -> None:
    assert content_hash("在网页中查看", "标题一") != content_hash("在网页中查看", "标题二")
    assert content_hash(LONG, "标题一") == content_hash(LONG, "标题二")


def test_summary_cuts_at_sentence_end() -> None:
    text = "第一句话。" * 30 + "结尾"
    summary = summarize(text, 50)
    assert summary.endswith("。") and len(summary) <= 50
    assert summarize("short text") == "short text"
    assert summarize("x" * 300, 200) == "x" * 200 + "…"
