"""Full-text extraction quality (issue 8): real article bodies in realistic page chrome.

    PYTHONPATH=$PWD python benchmarks/fulltext_quality.py [--shared ../shared] [--per-site 12] [--json]

Bodies come from the shared corpus (corpus/hexo_rebuilt: IT之家, cnBeta, 观察者网, 虎嗅 posts
with at least 1,500 characters of HTML). Each body is wrapped in the chrome of a news page —
header and navigation, breadcrumb, ad slots, share bar, a sidebar of "hot" headlines, related
articles with teasers, comments, footer — whose texts are other posts' titles and typical
boilerplate, so every chrome string is known and distinct from the body. Page layouts:

  ithome   IT之家's layout, body in div.post_content#paragraph, URL on ithome.com
  cnbeta   cnBeta's layout, body in div.article-content, URL on cnbeta.com.tw
  sina     Sina Finance's layout, body in div#artibody, URL on finance.sina.com.cn
  generic  a CMS layout no rule knows (body in div.article-body), URL on news.example.com
  forum    as generic, with a long comment thread (16 comments of about 60 characters, each
           in a <p>) and related-article teasers: the case where chrome text can outweigh a body

Every page is extracted twice: with the shipped rules (config/rules; ithome/cnbeta/sina pages
then hit their rule's `content` selector, generic pages fall back to readability) and with no
rules (readability decides everything). Extracted and original bodies go through the same
cleaner (worker.core.clean.clean_html with the same rules), then:

  body recovered = characters of the original body's text lines found in the extracted text
                   / characters of the original body's text;
  chrome leaked  = characters of the chrome strings found in the extracted text
                   / characters of all chrome strings on the page.

Not a test: figures go to docs/cleaning.md.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker import config  # noqa: E402
from worker.core.clean import clean_html  # noqa: E402
from worker.core.extract import extract_main_content  # noqa: E402
from worker.core.rules import Rule, matching_rules  # noqa: E402
from worker.core.seed import parse_seed  # noqa: E402
from worker.core.types import InputError  # noqa: E402

SITES = {  # corpus folder -> page layout it is served in
    "IT 之家": "ithome", "cnBeta": "cnbeta", "观察者网": "sina", "虎嗅": "generic", "少数派 sspai": "forum",
}
URLS = {
    "ithome": "https://www.ithome.com/0/642/{n}.htm",
    "cnbeta": "https://www.cnbeta.com.tw/articles/tech/{n}.htm",
    "sina": "https://finance.sina.com.cn/china/2022-09-26/doc-imqmmth{n}.shtml",
    "generic": "https://news.example.com/2022/09/26/{n}.html",
    "forum": "https://blog.example.net/p/{n}",
}
NAV = ["首页", "资讯", "科技", "财经", "汽车", "手机", "电脑", "游戏", "数码", "视频", "直播", "专题",
       "下载客户端", "登录", "注册", "投稿", "关于我们"]
BOILERPLATE = [
    "广告 立即下载App，领取新人专享红包，首单立减20元",
    "分享到：微博 微信 QQ空间 复制链接",
    "声明：本文仅代表作者观点，不代表本站立场。如有侵权请联系删除。",
    "扫码关注官方微信公众号，获取更多精彩内容",
    "版权所有 1996-2026 本站 保留所有权利 京ICP备00000000号 违法和不良信息举报电话：12377",
]
COMMENTS = [
    "这个消息确实挺意外的，期待后续的报道", "说得好，顶一个，希望相关部门重视起来",
    "楼上的朋友，你说的情况我也遇到过，确实很头疼", "文章写得很清楚，学到了，感谢分享",
    "价格还是太贵了，等降价再说吧", "第一次在这里留言，支持一下作者的辛苦付出",
]


@dataclass(frozen=True)
class Page:
    site: str
    url: str
    html: str
    body_html: str
    chrome: tuple[str, ...]  # every text string of the chrome


def corpus_posts(shared: Path, per_site: int) -> list[tuple[str, str, str]]:
    """(site layout, title, body HTML) for up to `per_site` long posts of each corpus source."""
    index = shared / "corpus" / "hexo_rebuilt" / "index.jsonl"
    rows = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines()]
    posts: list[tuple[str, str, str]] = []
    for folder, site in SITES.items():
        chosen = sorted((r for r in rows if f"/{folder}/" in r["file"] and 1500 <= r["body_len"] <= 40000),
                        key=lambda r: r["file"])[:per_site]
        for row in chosen:
            path = shared / "corpus" / "hexo_rebuilt" / row["file"]
            try:
                entry = parse_seed(path.read_bytes(), row["file"])
            except InputError:
                continue
            posts.append((site, entry.title, entry.html))
    return posts


def chrome_texts(rng: random.Random, headlines: list[str], heavy: bool) -> dict[str, list[str]]:
    picks = rng.sample(headlines, 22)
    long_comments = [f"{rng.choice(COMMENTS)}，{h}，这件事值得我们每个人认真思考一下。"
                     for h in rng.sample(headlines, 16)]
    comments = long_comments if heavy else rng.sample(COMMENTS, 4)
    return {
        "nav": NAV, "hot": picks[:10], "related": picks[10:16],
        "teasers": [f"{h}。据报道，相关方面已经作出回应，更多细节仍在进一步披露中。" for h in picks[16:19]],
        "comments": comments, "boilerplate": BOILERPLATE,
        "crumbs": ["当前位置：首页 > 资讯 > 正文"], "more": picks[19:22],
    }


def _links(items: list[str], cls: str) -> str:
    return f'<ul class="{cls}">' + "".join(f'<li><a href="/n/{i}">{escape(t)}</a></li>'
                                          for i, t in enumerate(items)) + "</ul>"


def wrap(site: str, title: str, body: str, chrome: dict[str, list[str]]) -> str:
    """A news page of `site`'s layout around `body`."""
    body_div = {
        "ithome": f'<div class="post_content" id="paragraph">{body}</div>',
        "cnbeta": (f'<div class="cnbeta-article-body"><div class="article-summary"></div>'
                   f'<div class="article-content">{body}</div></div>'),
        "sina": f'<div class="article" id="artibody" data-sudaclick="blk_content">{body}</div>',
        "generic": f'<div class="article-body">{body}</div>',
        "forum": f'<div class="article-body">{body}</div>',
    }[site]
    teasers = "".join(f'<div class="teaser"><p>{escape(t)}</p></div>' for t in chrome["teasers"])
    comments = "".join(f'<div class="comment"><span class="user">网友{i}</span><p>{escape(c)}</p></div>'
                       for i, c in enumerate(chrome["comments"]))
    ad, share, notice, follow, footer = (escape(t) for t in chrome["boilerplate"])
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title>
<script>window.ads = {{slots: ["top", "side"]}};</script><style>.nav li {{ float: left }}</style></head>
<body><div id="header"><div class="logo"><a href="/"><img src="/logo.png" alt=""></a></div>
{_links(chrome["nav"], "nav")}</div><div class="ad ad-top"><a href="/ad">{ad}</a></div>
<div id="wrapper"><div class="crumbs">{escape(chrome["crumbs"][0])}</div>
<div class="main"><h1>{escape(title)}</h1><div class="meta">2022-09-26 10:00 来源：本站</div>
<div class="share">{share}</div>{body_div}<div class="notice"><p>{notice}</p></div>
<div class="related"><h3>相关文章</h3>{_links(chrome["related"], "related-list")}{teasers}</div>
<div class="comments"><h3>网友评论</h3>{comments}</div></div>
<div class="sidebar"><div class="hot"><h3>热门排行</h3>{_links(chrome["hot"], "hot-list")}</div>
<div class="more"><h3>猜你喜欢</h3>{_links(chrome["more"], "more-list")}</div>
<div class="follow"><p>{follow}</p></div></div></div>
<div id="footer"><p>{footer}</p></div></body></html>"""


def build_pages(shared: Path, per_site: int, seed: int = 8) -> list[Page]:
    posts = corpus_posts(shared, per_site)
    headlines = [title for _, title, _ in posts]
    rng = random.Random(seed)
    pages = []
    for n, (site, title, body) in enumerate(posts):
        others = [h for h in headlines if h != title]
        chrome = chrome_texts(rng, others, heavy=site == "forum")
        texts = tuple(t for group in chrome.values() for t in group)
        url = URLS[site].format(n=100000 + n)
        pages.append(Page(site, url, wrap(site, title, body, chrome), body, texts))
    return pages


def _flat(text: str) -> str:
    return " ".join(text.split())


def score(page: Page, rules: tuple[Rule, ...]) -> dict[str, float | str]:
    applicable = matching_rules(rules, (page.url,), ())
    started = time.perf_counter()
    found = extract_main_content(page.html, (page.url,), rules)
    elapsed = time.perf_counter() - started
    extracted = _flat(clean_html(found.html, applicable, page.url).text) if found else ""
    truth_lines = [_flat(line) for line in clean_html(page.body_html, applicable, page.url).text.splitlines()]
    truth_lines = [line for line in truth_lines if line]
    body_total = sum(len(line) for line in truth_lines)
    recovered = sum(len(line) for line in truth_lines if line in extracted)
    # A chrome string the body itself contains ("首页", "视频" in a sentence) proves nothing.
    truth = " ".join(truth_lines)
    chrome = [_flat(t) for t in page.chrome if _flat(t) not in truth]
    chrome_total = sum(len(t) for t in chrome)
    leaked = sum(len(t) for t in chrome if t in extracted)
    return {"method": found.method if found else "none",
            "body": recovered / body_total if body_total else 1.0,
            "chrome": leaked / chrome_total, "ms": elapsed * 1000}


def dump(pages: list[Page], path: Path) -> None:
    rows = [{"site": p.site, "url": p.url, "html": p.html, "chrome": list(p.chrome),
             "body_lines": [_flat(line) for line in clean_html(p.body_html, (), p.url).text.splitlines()
                            if line.strip()]} for p in pages]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def report(pages: list[Page], rules: tuple[Rule, ...], label: str) -> list[dict[str, object]]:
    rows = []
    for site in SITES.values():
        scores = [score(p, rules) for p in pages if p.site == site]
        if not scores:
            continue
        methods = sorted({str(s["method"]) for s in scores})
        rows.append({
            "rules": label, "layout": site, "pages": len(scores), "method": ", ".join(methods),
            "body_recovered": statistics.mean(float(s["body"]) for s in scores),
            "worst_body": min(float(s["body"]) for s in scores),
            "chrome_leaked": statistics.mean(float(s["chrome"]) for s in scores),
            "worst_chrome": max(float(s["chrome"]) for s in scores),
            "median_ms": statistics.median(float(s["ms"]) for s in scores),
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--per-site", type=int, default=12)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dump", type=Path, help="Write the pages (html, url, body lines, chrome) as JSON "
                        "for benchmarks/fulltext_trafilatura.py and stop.")
    args = parser.parse_args()
    pages = build_pages(args.shared, args.per_site)
    if args.dump:
        dump(pages, args.dump)
        return
    shipped = config.load_rules(ROOT / "config" / "rules")
    rows = report(pages, shipped, "shipped") + report(pages, (), "none")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    print("| rules | layout | pages | extracted by | body recovered (mean / worst) "
          "| chrome leaked (mean / worst) | median ms/page |")
    print("|---|---|---:|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['rules']} | {r['layout']} | {r['pages']} | {r['method']} "
              f"| {r['body_recovered']:.1%} / {r['worst_body']:.1%} "
              f"| {r['chrome_leaked']:.1%} / {r['worst_chrome']:.1%} | {r['median_ms']:.1f} |")


if __name__ == "__main__":
    main()
