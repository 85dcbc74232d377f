"""Golden files: the exact cleaned HTML and text of the two original Sina posts, reviewed by
reading them against the source (every paragraph and image kept, in order; the QR block, the
editor line, the stock widgets, comments and the brace-escaped <style> gone). A change to the
cleaner that alters them must come with a re-read and a new golden file."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, ROOT
from worker.config import load_rules
from worker.core.pipeline import clean_entry
from worker.core.seed import parse_seed

RULES = load_rules(ROOT / "config" / "rules")
POSTS = ["sina_ai_basketball_referee", "sina_beijing_consumption_aid"]


@pytest.mark.parametrize("name", POSTS)
def test_golden_html_and_text(name: str) -> None:
    entry = parse_seed((FIXTURES / "posts" / f"{name}.md").read_bytes(), f"{name}.md")
    article = clean_entry(entry, RULES)
    golden = FIXTURES / "golden"
    assert article.html + "\n" == (golden / f"{name}.html").read_text(encoding="utf-8")
    assert article.text + "\n" == (golden / f"{name}.txt").read_text(encoding="utf-8")


def test_derived_fields_of_the_basketball_post() -> None:
    entry = parse_seed((FIXTURES / "posts" / f"{POSTS[0]}.md").read_bytes(), "p.md")
    article = clean_entry(entry, RULES)
    assert article.language == "zh"
    assert article.lead_image == entry.lead_image  # the front-matter GIF is a real image
    assert article.html.count("<img") == 9  # nine article images; the QR code is gone
    assert article.summary.endswith("他们就完了。")  # cut at a full stop, under ~200 chars
    assert len(article.summary) <= 201
    assert article.provenance["removed"]["sina-finance: remove p.article-editor"] == {
        "count": 1, "sample": "责任编辑：刘玄逸"}


def test_qr_front_matter_image_is_never_the_lead_image() -> None:
    entry = parse_seed((FIXTURES / "posts" / f"{POSTS[1]}.md").read_bytes(), "p.md")
    assert entry.lead_image == "https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"
    assert clean_entry(entry, RULES).lead_image is None  # and the body has no other image
