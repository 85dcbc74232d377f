"""The whole rebuilt archive (1,529 posts from 171 feeds) through parse_seed + clean_entry:
no crash, no active content, none of the boilerplate the shipped rules target."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest

from tests.active_content import active_content
from tests.conftest import ROOT, SHARED
from worker.config import load_rules
from worker.core.pipeline import clean_entry
from worker.core.seed import parse_seed
from worker.core.types import CleanArticle, InputError

# ../shared beside the checkout; a git worktree one level deeper looks one more level up.
CORPUS = next((root / "corpus" / "hexo_rebuilt" for root in (SHARED, ROOT.parent.parent / "shared")
               if (root / "corpus" / "hexo_rebuilt").is_dir()), SHARED / "corpus" / "hexo_rebuilt")
pytestmark = pytest.mark.skipif(
    not (CORPUS / "index.jsonl").is_file(),
    reason=f"the shared corpus is not here ({CORPUS}); it exists only in the development workspace",
)
# Each targeted block, as measured by benchmarks/boilerplate_report.py (docs/cleaning.md).
TARGETED = ("超值！PD18 虚拟机", "海量资讯、精准解读，尽在新浪财经APP", "给作者打赏，鼓励TA抓紧创作！",
            "该文观点仅代表作者本人，人人都是产品经理平台", "via @undefined", "分享理由: undefined",
            "如有兴趣,请复制链接订阅", "扫码分享", "本文分享自微信公众号 - ", "正在直播：",
            "本文系观察者网独家稿件", "【本文结束】如需转载", "声明：数据宝所有资讯内容不构成投资建议",
            "本文来自果壳，未经授权不得转载", "点击此处查看原文")
TARGETED_LINES = (re.compile(r"^\d+ (likes|saves)$", re.M), re.compile(r"^责任编辑：\S{1,12}$", re.M),
                  re.compile(r"^Comments$", re.M))


@cache
def cleaned_corpus() -> tuple[list[tuple[str, CleanArticle]], list[str]]:
    rules = load_rules(ROOT / "config" / "rules")
    rows = [json.loads(line) for line in (CORPUS / "index.jsonl").read_text("utf-8").splitlines() if line]
    articles, errors = [], []
    for row in rows:
        try:
            entry = parse_seed((CORPUS / row["file"]).read_bytes(), row["file"])
        except InputError as exc:
            errors.append(str(exc))
            continue
        articles.append((row["file"], clean_entry(entry, rules)))
    return articles, errors


def test_every_post_imports() -> None:
    articles, errors = cleaned_corpus()
    assert len(articles) + len(errors) == 1529
    assert all(e.split(":", 1)[0].endswith(".md") for e in errors)  # errors name their file
    assert len(articles) >= 1500


def test_no_active_content_anywhere() -> None:
    for name, article in cleaned_corpus()[0]:
        assert active_content(article.html) == [], name


def test_targeted_boilerplate_is_gone() -> None:
    for name, article in cleaned_corpus()[0]:
        for block in TARGETED:
            assert block not in article.text, (name, block)
        for pattern in TARGETED_LINES:
            assert not pattern.search(article.text), (name, pattern.pattern)


def test_derived_fields_over_the_corpus() -> None:
    articles = cleaned_corpus()[0]
    languages = {a.language for _, a in articles}
    assert languages <= {"zh", "en", "ja", "und"} and "zh" in languages and "en" in languages
    for name, article in articles:
        assert article.lead_image is None or not article.lead_image.startswith("https://picsum.photos"), name
        assert article.reading_length >= 0
