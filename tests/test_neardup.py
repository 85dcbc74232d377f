"""Pure dedup pieces: MinHash sketches, canonical URLs, change measures."""

from __future__ import annotations

import bisect
import itertools
import re
import struct
import unicodedata

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from worker.core import neardup
from worker.core.canonical import canonical_url, normalise_url
from worker.core.changes import measure_change
from worker.core.nfkc import nfkc_form
from worker.core.types import ParsedEntry

STORY = ("国家统计局今天发布数据显示，一季度国内生产总值同比增长百分之五点三，经济运行开局良好。"
         "分产业看，第一产业增加值同比增长百分之三点三，第二产业增加值增长百分之六点零。"
         "从需求看，社会消费品零售总额同比增长百分之四点七，其中服务零售额增长百分之十点零。")


def test_chinese_text_needs_no_tokenizer() -> None:
    same = neardup.sketch(STORY)
    reworded = neardup.sketch(STORY.replace("开局良好", "开局不错") + "（记者 张三）")
    comet = "本周六晚，国家天文台发布消息称，一颗亮度较高的彗星将在西北方低空出现，肉眼可见。"
    other = neardup.sketch(comet * 3)
    assert neardup.similarity(same.signature, neardup.signature(STORY)) == 1.0
    assert 0.7 <= neardup.similarity(same.signature, reworded.signature) < 1.0
    assert neardup.similarity(same.signature, other.signature) < 0.1
    assert len(same.signature) == neardup.NUM_PERM
    assert len(neardup.band_hashes(same.signature)) == neardup.NUM_BANDS


def test_punctuation_and_case_do_not_change_the_sketch() -> None:
    assert neardup.signature("Hello, World! 你好，世界。") == neardup.signature("hello world 你好 世界")


def test_sketch_round_trips_through_storage_bytes() -> None:
    sk = neardup.sketch(STORY)
    assert neardup.unpack(neardup.pack(sk)) == sk
    assert neardup.unpack(None) == neardup.Sketch((), 0)
    assert neardup.unpack(b"\x01\x02\x03") == neardup.Sketch((), 0)  # corrupt: no match, no crash


def test_signature_values_are_pinned_to_their_version() -> None:
    """Changing these values (folding, hashing, banding) needs a new SIGNATURE_VERSION and a
    migration clearing the stored sketches: update these constants only together with both."""
    assert neardup.SIGNATURE_VERSION == "m2"
    sk = neardup.sketch(STORY)
    assert sk.size == 100
    assert sk.signature[:6] == (59936738, 26382306, 4785299, 478357, 14555994, 62836319)
    assert neardup.band_hashes(sk.signature)[:2] == [6032963171681253505, -70794634423749034]


def test_a_sketch_of_another_version_is_similar_to_nothing() -> None:
    sk = neardup.sketch(STORY)
    packed = neardup.pack(sk)
    assert packed.startswith(b"m2") and len(packed) == 2 + 4 + 4 * neardup.NUM_PERM
    m1 = struct.pack(f"<I{neardup.NUM_PERM}I", sk.size, *sk.signature)  # m1 stored no version
    m3 = b"m3" + packed[2:]
    for stale in (m1, m3, packed[:-4]):
        assert neardup.unpack(stale) == neardup.Sketch((), 0)
        assert neardup.similarity(neardup.unpack(stale).signature, sk.signature) == 0.0


def test_bands_only_for_evidence() -> None:
    settings = neardup.NearDupSettings()
    long_text = STORY + STORY[::-1]  # 212 characters once folded: just evidence
    assert neardup.is_evidence(long_text, settings) and not neardup.is_evidence(STORY, settings)
    sk, bands = neardup.sketch_and_bands(long_text, settings)
    assert sk == neardup.sketch(long_text) and bands == tuple(neardup.band_hashes(sk.signature))
    short, none = neardup.sketch_and_bands(STORY, settings)
    assert none == () and short == neardup.sketch(STORY)
    assert neardup.sketch("") == neardup.Sketch((0xFFFFFFFF,) * neardup.NUM_PERM, 0)
    assert neardup.sketch("，。!") == neardup.sketch("")  # nothing but punctuation: no shingle


_NOISE = re.compile(r"[\W_]+")  # the folding's definition: drop what is not a word character


def _folding_definition(text: str) -> str:
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())


# "Σ" lower-cases by its neighbours, "İ" to two characters, Deseret 𐐀 beyond the BMP.
@given(st.lists(st.one_of(st.sampled_from(list("Ab_ 中文，。！ＡＺ０…①é\u0301🛒𝐀\u3000\tΣΑσİI\U00010400")),
                          st.characters()), max_size=60).map("".join))
@example("ΑΣ ΒΣΑ Σ")
@example("İstanbul 𐐀𐐁")
def test_folding_and_shingle_count_match_their_definition(text: str) -> None:
    assert neardup.shingle_text(text) == _folding_definition(text)
    assert neardup.sketch(text).size == len(neardup.shingles(text))


def test_fold_table_is_the_definition_for_every_code_point() -> None:
    # All but the characters whose NFKC has a "Σ" or "İ": those take the str.lower() path.
    every = "".join(char for char in map(chr, range(0x110000))
                    if not {"\u03a3", "\u0130"} & set(unicodedata.normalize("NFKC", char)))
    assert not {"\u03a3", "\u0130"} & set(unicodedata.normalize("NFKC", every))
    assert neardup.shingle_text(every) == _folding_definition(every)


@given(st.lists(st.sampled_from(list("Ab 中文，。ＡＺ０…①é\u0301🛒Σ")), max_size=300).map("".join))
def test_sketch_from_the_carried_nfkc_form(text: str) -> None:
    """clean_entry computes the NFKC form once and the sketch reuses it: the same sketch and
    bands, and a form of another text is not used."""
    settings = neardup.NearDupSettings(min_chars=20)
    expected = neardup.sketch_and_bands(text, settings)
    assert neardup.sketch_and_bands(text, settings, nfkc_form(text)) == expected
    assert neardup.sketch_and_bands(text, settings, nfkc_form(text + "又")) == expected


def test_containment_needs_enough_shared_text() -> None:
    settings = neardup.NearDupSettings()
    big = neardup.Sketch(tuple(range(128)), 1000)
    half = neardup.Sketch(tuple(range(64)) + tuple(range(1000, 1064)), 600)  # J 0.5, C ~0.89
    assert neardup.are_near_duplicates(big, half, settings)
    assert not neardup.are_near_duplicates(neardup.Sketch(big.signature, 300),
                                           neardup.Sketch(half.signature, 200), settings)


def test_canonical_url() -> None:
    entry = ParsedEntry(entry_key="k", title="t", html="", link="https://News.test:443/a/1.html?utm_source=x#c")
    assert canonical_url(entry) == "https://news.test/a/1.html"
    with_canonical = ParsedEntry(entry_key="k", title="t", html="", link="https://m.news.test/a?id=1",
                                 canonical_link="https://news.test/a/1.html")
    assert canonical_url(with_canonical) == "https://news.test/a/1.html"
    assert normalise_url("https://news.test/") is None  # a front page identifies no article
    assert normalise_url("https://news.test/?utm_source=x") is None
    assert normalise_url("javascript:void(0)") is None
    assert normalise_url("http://[::1") is None


def test_change_measure() -> None:
    assert measure_change(STORY, "  " + STORY + "\n") == measure_change(STORY, STORY)
    typo = measure_change(STORY, STORY.replace("良好", "很好"))
    assert typo.is_trivial(0.98, 12) and typo.changed_chars == 1
    added = measure_change(STORY, STORY + "记者补充：截至发稿时，相关部门尚未回应。")
    assert not added.is_trivial(0.98, 12)


def _sorted_signature(codes: np.ndarray) -> tuple[list[int], int]:
    """The m2 signature as first written: sort the shingle hashes, a bin's smallest hash is the
    first of its run, an empty bin takes the next non-empty bin's (wrapping a turn later), the
    set size is the number of runs of equal hashes."""
    if not len(codes):
        return [0xFFFFFFFF] * neardup.NUM_PERM, 0
    hashes = sorted(neardup._fmix64(neardup._window_polynomials(codes)).tolist())
    size = 1 + sum(a != b for a, b in itertools.pairwise(hashes))
    values = []
    for bin_ in range(neardup.NUM_PERM):
        found = bisect.bisect_left(hashes, bin_ << 57)
        turn = 1 << 32 if found == len(hashes) else 0
        values.append((hashes[found % len(hashes)] >> 32) - bin_ * (1 << 25) + turn)
    return values, size


@given(st.lists(st.integers(0, 0x10FFFF) | st.integers(0, 6), max_size=400))
@example([])
@example([7] * 4)
@example(list(range(0x4E00, 0x4E00 + 40)) * 30)  # repeated text: many equal shingles
def test_signature_is_the_sorted_definition(codes: list[int]) -> None:
    """The signature comes from np.minimum.at and _distinct_count, not from sorted hashes: the
    same values and set size as the sorted definition, short texts and empty bins included."""
    array = np.array(codes, dtype=np.uint32)
    values, size = neardup._signature_values(array)
    assert (values.tolist(), size) == _sorted_signature(array)
    assert values.dtype == np.int64


@given(st.lists(st.integers(0, 2**64 - 1), max_size=300), st.booleans(), st.integers(0, 40))
def test_distinct_count_is_the_set_size(values: list[int], share_slots: bool, repeats: int) -> None:
    """Exact for any uint64s: equal values, values sharing a table slot (the same top 13 bits)
    but differing below, and more values than the table takes (those are sorted)."""
    same_slot = [(v >> 51 << 51) | (v & 0xFF) for v in values] if share_slots else []
    pool = values + same_slot + values[:repeats] * repeats
    hashes = np.array(pool, dtype=np.uint64)
    assert neardup._distinct_count(hashes) == len(set(pool))
    many = np.tile(hashes, len(neardup._POSITIONS) // max(len(pool), 1) + 2)[:len(neardup._POSITIONS) + 5]
    assert neardup._distinct_count(many) == len(set(many.tolist()))
