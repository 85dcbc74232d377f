"""Write tests/fixtures/dedup_labels.jsonl.xz from the shared corpus (fixed seed: reproducible).

    PYTHONPATH=. python benchmarks/build_dedup_labels.py [../shared/corpus/hexo_rebuilt]

Every post is parsed and cleaned as `feedwash seeds import` would; the pairs start from the
cleaned HTML (small: no scripts, no base64 images), so the committed fixture stays small and the
test needs no ../shared. Pairs:
- exact (one content hash expected): other markup, tracking parameters, other whitespace and
  indentation, a changed title (long body: the title is not part of the key);
- near: other boilerplate (a source line, a reprint footer), a dropped paragraph, an added
  paragraph, an "other outlet" edit (new title + boilerplate + a dropped paragraph), and the
  real cross-outlet pairs found in the corpus (`REAL_PAIRS`, read and confirmed by hand);
- distinct (hard negatives): identical short bodies under different titles (the corpus's
  groups), the same title over a different body, posts of the same feed sharing a template (the
  most similar same-feed pairs by MinHash, which is where false merges would come from), and
  random pairs;
- ambiguous (not scored): `AMBIGUOUS_PAIRS`, e.g. a game's standard and deluxe store pages.
"""

from __future__ import annotations

import itertools
import json
import lzma
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.dedup_labels import LABELS
from worker import config
from worker.core import neardup
from worker.core.pipeline import clean_entry
from worker.core.seed import parse_seed
from worker.core.types import InputError
from worker.settings import get_settings

SEED = 20261129
PER_KIND = 30
# ../shared next to the repository (a worktree sits one level deeper).
CORPUS = next((p / "shared" / "corpus" / "hexo_rebuilt" for p in Path(__file__).resolve().parents[2:4]
               if (p / "shared" / "corpus" / "hexo_rebuilt").is_dir()), Path("../shared/corpus/hexo_rebuilt"))
# (title prefix a, title prefix b), confirmed by reading both texts.
REAL_PAIRS = [
    ("法拉第未来与大股东 FF Top 和解", "法拉第未来与大股东FF Top和解"),
    ("推特CEO接受马斯克律师问话", "Twitter CEO 接受马斯克律师问话"),
    ("当人和皮卡丘生了个孩子……", "当人和皮卡丘生了个孩子，"),
    ("腾讯发布国庆节假期未成年人游戏限玩通知", "腾讯与网易公布国庆未成年人限玩时间"),
]
AMBIGUOUS_PAIRS = [("索尼克 未知邊境", "索尼克 未知邊境 豪華版")]
HEADERS = ["来源：经济日报客户端", "本文转载自微信公众号“科技前沿”", "编者按：以下内容来自合作媒体。"]
FOOTERS = ["本文为转载，版权归原作者所有，如有侵权请联系删除。",
           "点击关注我们，获取更多精彩内容。欢迎转发分享。", "责任编辑：王小明 审核：李华"]
ADDED = ["记者补充：截至发稿时，相关部门尚未对此事作出进一步回应，本报将持续关注事件进展。",
         "更新：文中部分数据已根据官方最新公告进行了修正，特此说明。",
         "背景资料：这一话题此前已引发广泛讨论，多位业内人士在社交媒体上发表了看法。"]
_P = re.compile(r"<p\b[^>]*>.*?</p>", re.S)


def load_corpus(root: Path) -> list[dict[str, Any]]:
    rules = config.load_rules(get_settings().rules_dir)
    docs = []
    for line in (root / "index.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        try:
            entry = parse_seed((root / row["file"]).read_bytes(), row["file"])
            article = clean_entry(entry, rules, None)
        except InputError:
            continue
        docs.append({"title": article.entry.title, "html": article.html, "text": article.text,
                     "feed": "/".join(row["categories"][1:2]), "file": row["file"]})
    return docs


def side(doc: dict[str, Any], html: str | None = None, title: str | None = None,
         link: str | None = None) -> dict[str, Any]:
    return {"title": title or doc["title"], "html": doc["html"] if html is None else html, "link": link}


def rewrap(html: str) -> str:
    """Other markup: each paragraph wrapped, attributes added, line breaks and indentation."""
    return "<article class=\"post\">" + _P.sub(
        lambda m: "\n<div class=\"para\"><section style=\"margin:0\">" + m.group(0).replace(
            "<p>", "<p class=\"text\">\u3000\u3000") + "</section></div>\n", html) + "</article>"


def with_tracking(html: str, link: str) -> tuple[str, str]:
    tracked = re.sub(r'href="([^"?]+)"', r'href="\1?utm_source=rss&utm_medium=feed&spm=a1"', html)
    return tracked, link + "?utm_source=rss&fbclid=xyz"


def paragraphs(html: str) -> list[str]:
    return _P.findall(html)


def build(root: Path) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    docs = load_corpus(root)
    by_title = {d["title"]: d for d in docs}
    long_docs = [d for d in docs if 300 <= len(d["text"]) <= 3000 and len(d["html"]) <= 8000
                 and len(paragraphs(d["html"])) >= 4]
    pairs: list[dict[str, Any]] = []

    def add(kind: str, label: str, a: dict[str, Any], b: dict[str, Any]) -> None:
        pairs.append({"kind": kind, "label": label, "a": a, "b": b})

    def sample() -> list[dict[str, Any]]:
        return rng.sample(long_docs, PER_KIND)

    for d in sample():
        add("markup", "exact", side(d), side(d, rewrap(d["html"])))
    for d in sample():
        link = f"https://example.test/news/{rng.randrange(10**6)}.html"
        tracked, tracked_link = with_tracking(d["html"], link)
        add("tracking_params", "exact", side(d, link=link), side(d, tracked, link=tracked_link))
    for d in sample():
        spaced = d["html"].replace("</p>", "</p>\n\n  ").replace("<p>", "<p>  ")
        add("whitespace", "exact", side(d), side(d, spaced))
    for d in sample():  # full-width commas typed as ", ": NFKC makes them "," and the space stays
        add("punctuation_spacing", "near", side(d), side(d, d["html"].replace("，", ", ")))
    for d in sample():
        add("changed_title", "exact", side(d), side(d, title=d["title"] + "（附全文）"))
    for d in sample():
        html = f"<p>{rng.choice(HEADERS)}</p>{d['html']}<p>{rng.choice(FOOTERS)}</p>"
        add("other_boilerplate", "near", side(d), side(d, html))
    for d in sample():
        paras = paragraphs(d["html"])
        drop = rng.randrange(1, len(paras))
        add("dropped_paragraph", "near", side(d), side(d, "".join(paras[:drop] + paras[drop + 1:])))
    for d in sample():
        paras = paragraphs(d["html"])
        at = rng.randrange(1, len(paras) + 1)
        add("added_paragraph", "near", side(d),
            side(d, "".join([*paras[:at], f"<p>{rng.choice(ADDED)}</p>", *paras[at:]])))
    for d in sample():
        paras = paragraphs(d["html"])
        drop = rng.randrange(1, len(paras))
        html = (f"<p>{rng.choice(HEADERS)}</p>" + "".join(paras[:drop] + paras[drop + 1:])
                + f"<p>{rng.choice(FOOTERS)}</p>")
        add("other_outlet", "near", side(d), side(d, html, title="转载｜" + d["title"][::-1][:12]))
    for prefix_a, prefix_b in REAL_PAIRS:
        add("real", "near", side(_find(docs, prefix_a)), side(_find(docs, prefix_b)))
    for prefix_a, prefix_b in AMBIGUOUS_PAIRS:
        add("standard_vs_deluxe", "ambiguous", side(by_title[prefix_a]), side(by_title[prefix_b]))

    # Hard negatives.
    short_groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in docs:
        if len(d["text"].strip()) < 120:
            short_groups[d["text"].strip()].append(d)
    for group in short_groups.values():
        for a, b in list(itertools.combinations(group, 2))[:4]:
            if a["title"] != b["title"]:
                add("same_short_body", "distinct", side(a), side(b))
    for a, b in (rng.sample(long_docs, 2) for _ in range(PER_KIND)):
        add("same_title", "distinct", side(a), side(b, title=a["title"]))
    excluded = {_find(docs, p)["file"] for pair in REAL_PAIRS + AMBIGUOUS_PAIRS for p in pair}
    for a, b in _same_template_pairs(docs, excluded, 2 * PER_KIND):
        add("same_template", "distinct", side(a), side(b))
    for _ in range(PER_KIND):
        a, b = rng.sample(long_docs, 2)
        if a["feed"] != b["feed"]:
            add("random", "distinct", side(a), side(b))
    return pairs


def _find(docs: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    return next(d for d in docs if d["title"].startswith(prefix))


def _same_template_pairs(docs: list[dict[str, Any]], excluded: set[str],
                         limit: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The most similar pairs of different posts within one feed (template, not story)."""
    settings = neardup.NearDupSettings()
    by_feed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in docs:
        if d["file"] not in excluded and neardup.is_evidence(d["text"], settings):
            by_feed[d["feed"]].append(d)
    scored = []
    for feed_docs in by_feed.values():
        sigs = [neardup.signature(d["text"]) for d in feed_docs[:40]]
        for (i, a), (j, b) in itertools.combinations(enumerate(feed_docs[:40]), 2):
            if a["text"] != b["text"]:
                scored.append((neardup.similarity(sigs[i], sigs[j]), a["file"], b["file"], a, b))
    scored.sort(key=lambda row: (-row[0], row[1], row[2]))
    return [(a, b) for _, _, _, a, b in scored[:limit]]


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    pairs = build(root)
    LABELS.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(LABELS, "wb", preset=9) as raw:
        raw.write("".join(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n" for p in pairs).encode())
    print(f"wrote {len(pairs)} pairs to {LABELS} ({LABELS.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
