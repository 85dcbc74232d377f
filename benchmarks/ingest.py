"""Ingest throughput, end to end, one process on one core, no network (issue 2).

    .venv/bin/python benchmarks/ingest.py [--items N] [--feeds F] [--runs R] [--profile] [--no-baseline]

Generates F RSS 2.0 feeds of N items each. Every item description is ~8 KB of Chinese/English
news HTML modelled on the Sina Finance seed post (seeds/000_c783d7c486dca3b2.txt): `cms-style`
attributes, inline styles, U+3000 indentation, stock widget spans and links, a <script>, a
<style>, HTML comments, an image, the "海量资讯、精准解读，尽在新浪财经APP" QR block and a
`责任编辑：…` editor line. Items carry the category 新浪财经, so the shipped Sina rule applies,
and every item has different numbers and sentences, so every content hash differs.

Each run gets a fresh SQLite database (migrated with Alembic, not timed) and then, timed:

  ingest   `worker.ingest.poll_source` (-> worker.poll) for every feed, i.e. the production
           path: parse -> one transaction per feed: archive the raw payload, known-entry lookup,
           raw hash, clean_entry (shipped rules), store_article, schedule + fetch_log row. Only
           the HTTP fetch is replaced, by an in-memory stub returning a 200 FetchResult.
  render   `worker.publish.build_feed`: the latest 50 articles as Atom.
  re-poll  `poll_source` for every feed again, same bytes: every entry is skipped by its raw
           hash before cleaning.

The per-stage breakdown comes from thin timing wrappers around the functions poll_source calls
(parse_feed, polling.archive_payload, raw_entry_hash, clean_entry and, inside it, clean_html and
content_hash, repo.store_article and, inside it, the dedup steps listed in STORE_PARTS,
PageQueue.consider, polling.record_poll); "rest" is the remainder of poll_source (sessions,
known_entries, touch_sightings, scheduling, commit). The run stops with an error unless every
item was stored as a new, unclustered article with the Sina boilerplate gone. Medians over the
runs; wall clock and process CPU time are both reported, because a busy second core shows in the
first.
Peak memory: tracemalloc (Python heap only; libxml2's malloc is invisible to it) over one extra
untimed poll of one feed, and getrusage's ru_maxrss for the whole process. The naive baseline, on
the same feed bytes: feedparser with its default sanitizer and URL resolver, BeautifulSoup(lxml)
cleaning, get_text and sha256 (no storage, no render, so it flatters the baseline).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import platform
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The worker reads its settings from the environment once (cached): point it at a scratch folder
# before anything imports it, so the benchmark can never touch ./data.
_SCRATCH = tempfile.TemporaryDirectory(prefix="feedwash-bench-")
os.environ["FEEDWASH_DATA_DIR"] = str(Path(_SCRATCH.name) / "data")
os.environ["FEEDWASH_DATABASE_URL"] = f"sqlite:///{Path(_SCRATCH.name) / 'unused.db'}"
os.environ["FEEDWASH_WEBSUB_HUB"] = ""  # no hub pings: nothing here may touch the network

import feedparser  # noqa: E402
from bs4 import BeautifulSoup, Comment  # noqa: E402

from worker import config, ingest, poll, publish  # noqa: E402
from worker.core import pipeline  # noqa: E402
from worker.core.feed import parse_feed  # noqa: E402
from worker.fetch import FetchResult  # noqa: E402
from worker.fulltext import PageQueue  # noqa: E402
from worker.settings import get_settings  # noqa: E402
from worker.storage import db, dedup, polling, repo  # noqa: E402
from worker.storage.db import transaction  # noqa: E402
from worker.storage.migrate import upgrade  # noqa: E402
from worker.storage.models import Article  # noqa: E402

FEED_BASE = "https://rsshub.bench.invalid/sina/finance"
STORE_PARTS = (  # (module, function, label): what store_article spends its time on
    (dedup, "is_tombstoned", "tombstone check"),
    (dedup, "fingerprint_for", "fingerprint_for (MinHash of the text)"),
    (dedup, "article_by_canonical_url", "canonical URL lookup"),
    (repo, "_insert_article", "_insert_article (articles row)"),
    (dedup, "index_article", "index_article (LSH bands: lookup, insert)"),
)
RENDER_LIMIT = 50
# The wrapped calls poll_source makes directly (the others are nested in clean_entry or store).
INGEST_TOP = tuple(f"ingest {name}" for name in ("parse", "raw hash", "clean_entry", "store", "archive",
                                                  "record_poll", "full-text decision"))
MUST_BE_GONE = ("海量资讯", "责任编辑", "<script", "<style", "cms-style", "style=", "appendQr", "\u3000",
                "utm_source", "quote_")

# ---- synthetic feeds ---------------------------------------------------------------------------

CITIES = ("北京市", "上海市", "广东省", "浙江省", "江苏省", "四川省", "湖北省", "山东省", "河南省",
          "福建省", "重庆市", "天津市", "内蒙古", "河北省", "湖南省", "安徽省")
TOPICS = ("消费帮扶", "乡村振兴", "绿色金融", "数字经济", "稳外贸", "普惠金融", "新能源汽车", "制造业升级",
          "跨境电商", "养老服务", "科技创新", "城市更新", "文旅消费", "农产品流通", "中小企业融资")
COMPANIES = (("sz000061", "农产品"), ("sh601939", "建设银行"), ("sh600519", "贵州茅台"),
             ("sz000858", "五粮液"), ("sh601318", "中国平安"), ("sz300750", "宁德时代"),
             ("sh600036", "招商银行"), ("sz002594", "比亚迪"), ("sh601888", "中国中免"),
             ("sh600900", "长江电力"), ("sz000333", "美的集团"), ("sh601012", "隆基绿能"))
HEADINGS = ("强化组织领导", "加强政策引领", "畅通销售渠道", "注重产业延伸", "加强社会动员", "加大扶持激励",
            "优化营商环境", "完善监管机制", "深化区域合作", "夯实数据基础", "稳定市场预期", "防范化解风险")
EDITORS = ("李墨轩", "王治强", "张俊", "刘万里", "陈悦", "赵思远", "孙青", "周文")
ZH_SENTENCES = (
    "{year}年，{city}深化落实国家发展改革委等{n2}个部门印发的《关于继续大力实施{topic}巩固拓展成果的指导意见》，"
    "扎实推进{topic}工作，全市采购销售支援合作地区农副产品{n3}亿元，取得了较好成效",
    "{city}委市政府深刻领会{topic}工作的新要求，把{topic}当做全面推进高质量发展的重要抓手",
    "按照牵头建立的部际沟通协调机制，调整完善联席会，组成部门涉及各相关部门、各前方指挥部和挂职干部团队等{n2}个单位，"
    "联动开展{topic}，统筹形成工作合力",
    "制定了《{city}{topic}工作{year}—{year1}年实施方案》，围绕销售途径拓展、供应链条打通、特色品牌打造等环节，"
    "着力抓好{n1}个方面、{n2}条重点任务",
    "在建成运营{n3}个连锁超市专区专柜基础上，组织引导全市{n2}区的基本便民商业网点、标准化示范门店、连锁便利店销售相关产品",
    "组织全市{n4}家预算单位、{n2}家市管企业，继续按照不低于{n2}%的预留份额优先采购，全年完成采购额{f2}亿元",
    "已开展党建活动{n3}余场、党员近{f1}万余人，动员市民办卡突破{n3}万张",
    "截至{month}月{day}日，{city}{topic}相关贷款余额达到{f2}亿元，同比增长{f1}%，高于各项贷款平均增速{f1}个百分点",
    "数据显示，{year}年前{month}个月，{city}社会消费品零售总额{f2}亿元，同比增长{f1}%，其中网上零售额增长{f1}%",
    "业内人士表示，{topic}领域的政策红利仍在持续释放，预计全年市场规模有望突破{n4}亿元",
    "在京东商城、天猫、首采网等平台持续运营电商馆，组织互联网平台开展直播带货等活动{n3}场次",
    "对参与{topic}有突出贡献的企业、社会组织和个人，采取适当方式给予奖励激励，共表彰{n2}家单位",
    "专家指出，下一阶段应进一步完善{topic}长效机制，推动资金、人才、技术等要素向重点领域集聚",
    "受此影响，{month}月{day}日午后板块集体走强，成交额较前一交易日放大{f1}%，资金净流入{f2}亿元",
    "仅{n1}个月时间，相关产品在{city}市场实现销售{n3}万元，带动{n4}户农户稳定增收",
)
EN_SENTENCES = (
    "Shares of {company} rose {f1}% to {f2} yuan in Shanghai on {month}/{day}, the best day in {n1} weeks.",
    "Analysts at a Beijing brokerage said the {n2}-point plan could lift retail sales by {f1} percent.",
    "The central bank injected {n3} billion yuan through reverse repos on day {day}, keeping cash ample.",
    "Exports grew {f1}% year on year in month {month}, beating the median forecast of {f1}% in a poll.",
    "Turnover on the two exchanges reached {n4} billion yuan, with {n3} stocks closing higher.",
)


def _numbers(rng: random.Random, serial: int) -> dict[str, Any]:
    return {
        "year": 2018 + serial % 7, "year1": 2019 + serial % 7, "month": rng.randint(1, 12),
        "day": rng.randint(1, 28), "n1": rng.randint(2, 9), "n2": rng.randint(10, 99),
        "n3": rng.randint(100, 999), "n4": rng.randint(1000, 9999),
        "f1": f"{rng.uniform(0.1, 30):.1f}", "f2": f"{rng.uniform(10, 900):.2f}",
        "city": rng.choice(CITIES), "topic": rng.choice(TOPICS),
    }


def _words(block: str) -> tuple[str, ...]:
    return tuple(block.split())


# Most sentences are drawn word by word from these lists, so two items share almost no 5-character
# shingles (as two different news stories do) and the near-duplicate index finds no candidates;
# one sentence in ten is a fixed template with other numbers, like a newsroom's stock phrases.
ZH_WORDS = _words("""
    北京市 上海 深圳 地方政府 国务院 发展改革委 财政部 人民银行 证监会 银保监会 商务部 工信部 统计局
    消费 帮扶 乡村 振兴 脱贫 攻坚 成果 巩固 拓展 农副产品 采购 销售 渠道 市场 平台 电商 直播 带货
    企业 单位 机构 部门 团队 干部 党员 市民 农户 合作社 龙头 中小企业 民营 国有 外资 上市公司 券商
    基金 银行 保险 信托 债券 股票 期货 汇率 利率 贷款 存款 融资 投资 资金 资本 资产 负债 利润 营收
    增长 下降 回升 放缓 加快 稳定 波动 扩大 收窄 突破 创新 升级 转型 改革 开放 合作 协调 统筹 推进
    落实 部署 完善 健全 优化 提升 强化 加强 深化 推动 引导 鼓励 支持 保障 监管 规范 防范 化解 风险
    政策 措施 方案 意见 通知 规划 目标 任务 机制 体系 制度 标准 品牌 质量 效益 效率 规模 结构 布局
    产业 行业 领域 环节 链条 供应链 价值链 创新链 物流 仓储 生产 流通 加工 包装 运输 零售 批发 餐饮
    新能源 汽车 电池 光伏 芯片 半导体 人工智能 数字经济 互联网 大数据 云计算 物联网 5G 算力 软件
    房地产 楼市 住房 租赁 土地 基建 城市 更新 交通 能源 电力 煤炭 石油 天然气 钢铁 有色 化工 建材
    出口 进口 外贸 跨境 订单 关税 港口 航运 集装箱 汇款 外汇 储备 顺差 逆差 需求 供给 价格 物价
    指数 数据 同比 环比 季度 年度 上半年 下半年 前三季度 全年 累计 余额 总额 均值 峰值 预期 预测
    专家 分析师 研究员 负责人 发言人 记者 业内人士 投资者 消费者 居民 员工 就业 收入 工资 社保 养老
    医疗 教育 文旅 体育 健康 服务 展会 论坛 峰会 会议 活动 项目 工程 园区 基地 中心 专区 专柜 门店
    显著 明显 持续 逐步 进一步 全面 重点 积极 有效 有力 扎实 稳步 大力 充分 切实 主动 精准 长效
    表示 指出 认为 强调 介绍 透露 显示 预计 判断 建议 呼吁 回应 披露 公布 发布 宣布 启动 完成 实现
""")
EN_WORDS = _words("""
    shares stocks bonds yields yuan dollar index market investors analysts traders bank central policy
    rate cut hike growth slowdown recovery exports imports trade surplus deficit demand supply prices
    inflation consumer retail sales factory output property developers housing credit loans liquidity
    regulator securities fund insurer brokerage earnings profit revenue quarter annual forecast survey
    rose fell climbed slipped jumped dropped gained lost steady higher lower record biggest weakest since
    amid after before despite while as Shanghai Shenzhen Beijing Hong Kong China government ministry
    plan stimulus support measures reform pilot program project capacity electric vehicles batteries
    solar chips semiconductor software platform online shoppers orders shipments tariffs port freight
""")


def _zh_clause(rng: random.Random) -> str:
    words = [rng.choice(ZH_WORDS) for _ in range(rng.randint(3, 7))]
    if rng.random() < 0.4:
        words.insert(rng.randint(0, len(words)), rng.choice((
            f"{rng.randint(2, 999)}亿元", f"{rng.uniform(0.1, 30):.1f}%", f"{rng.randint(1, 12)}月"
            f"{rng.randint(1, 28)}日", f"{rng.randint(10, 9999)}家", rng.choice(CITIES),
            f"{rng.randint(2, 99)}个百分点")))
    return "".join(words)


def _sentence(rng: random.Random, serial: int) -> str:
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(ZH_SENTENCES).format(**_numbers(rng, serial)) + "。"
    if roll < 0.15:
        company = rng.choice(COMPANIES)[1]
        return " " + rng.choice(EN_SENTENCES).format(company=company, **_numbers(rng, serial)) + " "
    if roll < 0.25:
        words = [rng.choice(EN_WORDS) for _ in range(rng.randint(8, 18))]
        words.insert(rng.randint(1, len(words)), f"{rng.uniform(0.1, 30):.1f}%")
        return " " + " ".join(words).capitalize() + ". "
    return "，".join(_zh_clause(rng) for _ in range(rng.randint(2, 4))) + "。"


def _stock(rng: random.Random) -> str:
    code, name = rng.choice(COMPANIES)
    return (f'<span id="stock_{code}"><a href="https://finance.sina.com.cn/realstock/company/{code}/nc.shtml"'
            f' class="keyword" target="_blank" data-sudaclick="content_marketkeywords_p">{name}</a></span>'
            f'<span id="quote_{code}"></span>')


def _paragraph(rng: random.Random, serial: int) -> str:
    parts = [_sentence(rng, serial) for _ in range(rng.randint(2, 4))]
    if rng.random() < 0.6:
        parts.insert(rng.randint(0, len(parts)), _stock(rng))
    if rng.random() < 0.3:
        colour = f"{rng.randint(0, 0xFFFFFF):06x}"
        parts.insert(rng.randint(0, len(parts)),
                     f'<span style="color:#{colour};font-size:16px">{_sentence(rng, serial)}</span>')
    return f'<p cms-style="font-L">\u3000\u3000{"".join(parts)}</p>\n'


def _heading(rng: random.Random) -> str:
    text = rng.choice(HEADINGS)
    return (f'<p cms-style="font-L align-Center">\u3000\u3000'
            f'<font cms-style="font-L strong-Bold align-Center">{text}</font></p>\n')


def _tail(rng: random.Random, serial: int, stocks: str) -> str:
    return f"""<!-- news_keyword_pub,stock,{stocks} -->

<!-- 正文下iframe -->
<script type="text/javascript">
  var ARTICLE_DATA = {{"docid": "ik{serial:010d}", "channel": "finance", "stocks": "{stocks}"}};
  (function () {{ if (window.SinaStat) {{ SinaStat.push(["pv", "ik{serial:010d}"]); }} }})();
</script>
<!-- 总声明-->

<!-- 文末二维码 start -->
            <style>
            .appendQr_wrap{{border:1px solid #E6E6E6;padding:8px;}}
            .appendQr_normal{{float:left;}}
            .appendQr_normal img{{width:74px;}}
            .appendQr_normal_txt{{float:left;font-size:20px;line-height:74px;padding-left:20px;color:#333;}}
            </style>
            <div class="clearfix appendQr_wrap">
                <div class="appendQr_normal"><img src="https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png" referrerpolicy="no-referrer"></div>
                <div class="appendQr_normal_txt">海量资讯、精准解读，尽在新浪财经APP</div>
            </div>
            <!-- 文末二维码 start -->

<!-- 编辑姓名及工作代码 -->
<p class="article-editor">责任编辑：{rng.choice(EDITORS)} </p>
<!-- 编辑姓名及工作代码-->
"""  # noqa: E501


def article_html(rng: random.Random, serial: int, target_bytes: int = 7600) -> str:
    """One ~8 KB article body; `serial` makes its text unique."""
    head = (f'<div>\n<p cms-style="font-L">\u3000\u3000（第{serial}号）{_sentence(rng, serial)}'
            f'{_sentence(rng, serial)}</p>\n')
    image = (f'<div class="img_wrapper"><img style="max-width:640px;" src="https://n.sinaimg.cn/finance/'
             f'{serial:08x}/{20240100 + serial % 28}/{rng.randint(10**8, 10**9)}.jpg" '
             f'alt="{rng.choice(TOPICS)}">'
             f'<span class="img_descr">资料图（图片来源：视觉中国）</span></div>\n')
    stocks = "&".join(code for code, _ in rng.sample(COMPANIES, 2))
    tail = _tail(rng, serial, stocks) + "</div>\n"
    parts = [head]
    size = len((head + image + tail).encode())
    while size < target_bytes:
        block = _heading(rng) + _paragraph(rng, serial)
        if rng.random() < 0.5:
            block += _paragraph(rng, serial)
        parts.append(block)
        size += len(block.encode())
        if len(parts) == 3:
            parts.append(image)
    return "".join(parts) + tail


def feed_bytes(feed_no: int, items: int, seed: int = 2) -> bytes:
    rng = random.Random(seed * 1_000_003 + feed_no)
    start = datetime(2024, 6, 1, 12, tzinfo=UTC) - timedelta(days=feed_no)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>新浪财经 国内 {feed_no}</title>\n<link>https://finance.sina.com.cn/china/</link>\n"
        "<description>RSSHub route (benchmark)</description>\n"
    ]
    for i in range(items):
        serial = feed_no * items + i
        when = start - timedelta(minutes=7 * i)
        doc = f"ik{serial:010d}"
        out.append(
            "<item>\n"
            f"<title>{escape(rng.choice(CITIES) + rng.choice(TOPICS))}工作取得新成效（{serial}）</title>\n"
            f"<link>https://finance.sina.com.cn/china/{when:%Y-%m-%d}/doc-{doc}.shtml?utm_source=rss&amp;from=feed</link>\n"
            f'<guid isPermaLink="false">sina-{doc}</guid>\n'
            f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate>\n"
            "<author>新浪财经</author>\n<category>金融</category>\n<category>新浪财经</category>\n"
            "<category>新浪财经－国內</category>\n"
            f"<description><![CDATA[{article_html(rng, serial)}]]></description>\n"
            "</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode()


# ---- measurement helpers -----------------------------------------------------------------------

class Timers:
    """Seconds spent in each wrapped function, per phase ("ingest", "repoll")."""

    def __init__(self) -> None:
        self.phase = "ingest"
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[f"{self.phase} {name}"] += time.perf_counter() - t0
        return timed


@contextmanager
def patched(feeds: dict[str, bytes], timers: Timers | None) -> Iterator[None]:
    """Replace the HTTP fetch by the in-memory feeds and, with `timers`, time the stages."""
    def fake_fetch(url: str, **_: Any) -> FetchResult:
        return FetchResult(url=url, status=200, content=feeds[url],
                           headers={"content-type": "application/rss+xml; charset=utf-8"})

    targets: list[tuple[Any, str, str | None]] = [(poll, "fetch", None)]
    if timers is not None:
        targets += [(poll, "parse_feed", "parse"), (poll, "raw_entry_hash", "raw hash"),
                    (poll, "clean_entry", "clean_entry"), (pipeline, "clean_html", "clean_html"),
                    (pipeline, "content_hash", "content_hash"), (repo, "store_article", "store"),
                    (polling, "archive_payload", "archive"), (polling, "record_poll", "record_poll"),
                    (PageQueue, "consider", "full-text decision")]
        # Inside store_article; skipped quietly if a refactor renames them.
        targets += [(module, attr, name) for module, attr, name in STORE_PARTS if hasattr(module, attr)]
    saved = [(module, attr, getattr(module, attr)) for module, attr, _ in targets]
    try:
        for module, attr, name in targets:
            original = getattr(module, attr)
            if name is None:
                setattr(module, attr, fake_fetch)
            else:
                assert timers is not None
                setattr(module, attr, timers.wrap(name, original))
        yield
    finally:
        for module, attr, original in saved:
            setattr(module, attr, original)


@contextmanager
def fresh_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="feedwash-bench-db-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        os.environ["FEEDWASH_DATABASE_URL"] = url
        os.environ["FEEDWASH_DATA_DIR"] = str(Path(folder) / "data")
        get_settings.cache_clear()
        upgrade(url)
        try:
            yield url
        finally:
            db.get_engine(url).dispose()
            db._engines.pop(url, None)
            get_settings.cache_clear()


def add_sources(urls: list[str]) -> list[int]:
    with transaction() as session:
        return [repo.ensure_source(session, "feed", url, ingest.utcnow(), title=url) for url in urls]


def poll_all(source_ids: list[int]) -> list[ingest.PollReport]:
    settings = get_settings()
    return [ingest.poll_source(source_id, settings) for source_id in source_ids]


def render_latest() -> bytes:
    with transaction() as session:
        return publish.build_feed(session, get_settings(), "atom", RENDER_LIMIT)


def check_output(reports: list[ingest.PollReport], expected: int, document: bytes) -> None:
    """The benchmark must measure the intended work: every item new, the Sina rule applied."""
    new = sum(r.new for r in reports)
    errors = [e for r in reports for e in r.errors]
    if errors or new != expected:
        raise SystemExit(f"benchmark invalid: {new}/{expected} new articles, errors: {errors[:3]}")
    if any(getattr(r, "page_fetches", None) for r in reports):
        raise SystemExit("benchmark invalid: full-text page fetches were queued (items too short?)")
    with transaction() as session:
        clustered = session.query(Article).filter(Article.cluster_id.is_not(None)).count()
    if clustered:  # distinct stories: the near-duplicate path must not kick in
        raise SystemExit(f"benchmark invalid: {clustered} articles were clustered as near duplicates")
    with transaction() as session:
        rows = session.query(Article.html, Article.text).all()
    leftovers = {m for html, text in rows for m in MUST_BE_GONE if m in html or m in text}
    if leftovers or len(rows) != expected:
        raise SystemExit(f"benchmark invalid: cleaned articles still contain {sorted(leftovers)}")
    if document.count(b"<entry>") != min(RENDER_LIMIT, expected):
        raise SystemExit("benchmark invalid: rendered feed has the wrong number of entries")


def one_run(feeds: dict[str, bytes], items: int, timers: Timers, verify: bool) -> dict[str, float]:
    """Wall and CPU seconds of: first poll of every feed, render, re-poll of every feed."""
    with fresh_database():
        source_ids = add_sources(list(feeds))
        with patched(feeds, timers):
            t0, c0 = time.perf_counter(), time.process_time()
            reports = poll_all(source_ids)
            t1 = time.perf_counter()
            document = render_latest()
            t2, c2 = time.perf_counter(), time.process_time()
            timers.phase = "repoll"
            again = poll_all(source_ids)
            t3, c3 = time.perf_counter(), time.process_time()
        if verify:
            check_output(reports, items, document)
        if sum(r.unchanged for r in again) != items:
            raise SystemExit("benchmark invalid: the re-poll did not skip every entry")
    return {"ingest": t1 - t0, "render": t2 - t1, "e2e": t2 - t0, "e2e_cpu": c2 - c0,
            "repoll": t3 - t2, "repoll_cpu": c3 - c2}


def naive_run(feeds: dict[str, bytes]) -> dict[str, float]:
    """feedparser defaults + BeautifulSoup(lxml) + get_text + sha256, per item."""
    parse_s = clean_s = hash_s = 0.0
    count = 0
    c0 = time.process_time()
    for url, data in feeds.items():
        t0 = time.perf_counter()
        parsed = feedparser.parse(data, response_headers={"content-location": url},
                                  sanitize_html=True, resolve_relative_uris=True)
        parse_s += time.perf_counter() - t0
        for entry in parsed.entries:
            t0 = time.perf_counter()
            soup = BeautifulSoup(entry.get("summary", ""), "lxml")
            for node in soup.find_all(string=lambda s: isinstance(s, Comment)):
                node.extract()
            for node in soup(["script", "style", "iframe", "noscript"]):
                node.decompose()
            for node in soup.select('span[id^="quote_"], [class*="appendQr"], p.article-editor'):
                node.decompose()
            for node in soup.select('span[id^="stock_"], a.keyword, font'):
                node.unwrap()
            for tag in soup.find_all(True):
                tag.attrs = {k: v for k, v in tag.attrs.items() if k in ("href", "src", "alt")}
            for tag in soup.find_all(["p", "div", "span"]):
                if not tag.get_text(strip=True) and not tag.find("img"):
                    tag.decompose()
            text = soup.get_text("\n", strip=True)
            t1 = time.perf_counter()
            hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
            hash_s += time.perf_counter() - t1
            clean_s += t1 - t0
            count += 1
    return {"parse": parse_s, "clean": clean_s, "hash": hash_s, "total": parse_s + clean_s + hash_s,
            "cpu": time.process_time() - c0, "items": count}


def tracemalloc_peak(feeds: dict[str, bytes]) -> int:
    """Python-heap peak while one feed is polled and the result rendered (tracemalloc slows the
    code ~7x, so one feed, not all: each poll frees its parsed feed, so the peak is per poll)."""
    feeds = dict([next(iter(feeds.items()))])
    with fresh_database():
        source_ids = add_sources(list(feeds))
        with patched(feeds, None):
            tracemalloc.start()
            poll_all(source_ids)
            render_latest()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return peak


def maxrss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def profile(feeds: dict[str, bytes], top: int = 25) -> None:
    with fresh_database():
        source_ids = add_sources(list(feeds))
        with patched(feeds, None):
            profiler = cProfile.Profile()
            profiler.enable()
            poll_all(source_ids)
            render_latest()
            profiler.disable()
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(top)
        print(f"\n### cProfile, one ingest pass + render, sorted by {key}\n")
        print("```")
        print(out.getvalue().strip())
        print("```")


# ---- report ------------------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def median(values: list[float]) -> float:
    return statistics.median(values)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def rate(items: int, seconds: float) -> str:
    return f"{items / seconds:,.0f}" if seconds > 0 else "-"


def spread(items: int, seconds: list[float]) -> str:
    return f"{items / max(seconds):,.0f}-{items / min(seconds):,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="items per feed (default 200)")
    parser.add_argument("--feeds", type=int, default=5, help="feeds (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs; medians are reported (default 3)")
    parser.add_argument("--baseline-runs", type=int, default=3, help="naive baseline runs (default 3)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    parser.add_argument("--profile", action="store_true", help="also print cProfile top entries")
    args = parser.parse_args(argv)
    if args.items < RENDER_LIMIT or args.feeds < 1 or args.runs < 1 or args.baseline_runs < 1:
        parser.error(f"need --items >= {RENDER_LIMIT} and --feeds, --runs, --baseline-runs >= 1")

    started = time.perf_counter()
    load_start = loadavg()
    feeds = {f"{FEED_BASE}/{n}.rss": feed_bytes(n, args.items) for n in range(args.feeds)}
    print(f"generated feeds: {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    n = args.items * args.feeds
    sample = parse_feed(next(iter(feeds.values())), FEED_BASE).entries
    body_kib = statistics.mean(len(e.html.encode()) for e in sample) / 1024
    rules = config.load_rules(get_settings().rules_dir)
    applied = sorted({r.name for e in sample
                      for r in pipeline.matching_rules(rules, (e.link,), e.categories)})
    rss_before = maxrss_mib()

    print("# feedwash ingest benchmark\n")
    print(f"{args.feeds} feeds x {args.items} items = {n} items; mean body {body_kib:.1f} KiB; "
          f"feeds {sum(map(len, feeds.values())) / 2**20:.1f} MiB; "
          f"rules applied: {', '.join(applied) or 'none'}; "
          f"{args.runs} runs (baseline {args.baseline_runs}), medians.")
    print(f"CPU: {cpu_model()} x {os.cpu_count()}; Python {platform.python_version()}; "
          f"load average at start: {load_start}\n", flush=True)

    runs: list[dict[str, float]] = []
    stage_runs: list[dict[str, float]] = []
    for i in range(args.runs):
        timers = Timers()
        result = one_run(feeds, n, timers, verify=(i == 0))
        runs.append(result)
        stage_runs.append(dict(timers.seconds))
        print(f"run {i + 1}: ingest {result['ingest']:.2f}s, render {result['render'] * 1000:.1f}ms, "
              f"re-poll {result['repoll']:.2f}s", file=sys.stderr, flush=True)
    rss_pipeline = maxrss_mib()
    mark = time.perf_counter()
    peak = tracemalloc_peak(feeds)
    print(f"tracemalloc pass: {time.perf_counter() - mark:.1f}s", file=sys.stderr, flush=True)
    naive = []
    for i in range(0 if args.no_baseline else args.baseline_runs):
        naive.append(naive_run(feeds))
        print(f"naive run {i + 1}: {naive[-1]['total']:.2f}s", file=sys.stderr, flush=True)

    def med(key: str) -> float:
        return median([r[key] for r in runs])

    stage = {name: median([s.get(name, 0.0) for s in stage_runs]) for name in stage_runs[0]}
    e2e_s = med("e2e")
    # What poll_source spent outside the wrapped calls: sessions, known_entries, commit, mark_polled.
    other_s = median([r["ingest"] - sum(v for k, v in s.items() if k in INGEST_TOP)
                      for r, s in zip(runs, stage_runs, strict=True)])

    print("\n## Summary\n")
    print("| pipeline | items/s (wall, median) | min-max over runs | items/s per CPU-second |")
    print("|---|---:|---:|---:|")
    print(f"| feedwash first poll, end to end: parse, clean, hash, store, render latest {RENDER_LIMIT} "
          f"| **{rate(n, e2e_s)}** | {spread(n, [r['e2e'] for r in runs])} | {rate(n, med('e2e_cpu'))} |")
    print(f"| feedwash re-poll of the same feeds (parse + raw hash, all skipped before cleaning) "
          f"| **{rate(n, med('repoll'))}** | {spread(n, [r['repoll'] for r in runs])} "
          f"| {rate(n, med('repoll_cpu'))} |")
    if naive:
        k = int(naive[0]["items"])
        print(f"| naive: feedparser defaults + BeautifulSoup(lxml) clean + get_text + sha256, "
              f"no store/render | **{rate(k, median([x['total'] for x in naive]))}** "
              f"| {spread(k, [x['total'] for x in naive])} "
              f"| {rate(k, median([x['cpu'] for x in naive]))} |")
        print(f"| &nbsp;&nbsp;naive parse only (feedparser, sanitizer + URL resolver on) "
              f"| {rate(k, median([x['parse'] for x in naive]))} | | |")
        print(f"| &nbsp;&nbsp;naive clean only (BeautifulSoup + get_text) "
              f"| {rate(k, median([x['clean'] for x in naive]))} | | |")

    def row(name: str, seconds: float) -> str:
        return (f"| {name} | {seconds:.3f} | {1000 * seconds / n:.3f} | {rate(n, seconds)} "
                f"| {100 * seconds / e2e_s:.1f}% |")

    clean_s, html_s = stage["ingest clean_entry"], stage["ingest clean_html"]
    hash_s = stage["ingest content_hash"]
    print(f"\n## First poll by stage (medians; {n} items)\n")
    print("| stage | seconds | ms/item | items/s | share of end to end |")
    print("|---|---:|---:|---:|---:|")
    print(row("parse_feed (feedparser, sanitizer off)", stage["ingest parse"]))
    print(row("raw_entry_hash (sha256 of the raw entry)", stage["ingest raw hash"]))
    print(row("clean_entry, all of it", clean_s))
    print(row("&nbsp;&nbsp;clean_html (lxml tree, rules, nh3, text)", html_s))
    print(row("&nbsp;&nbsp;content_hash (NFKC + sha256)", hash_s))
    print(row("&nbsp;&nbsp;rest (rule matching, summary, derived fields, provenance)",
              clean_s - html_s - hash_s))
    store_s = stage["ingest store"]
    print(row("store_article, all of it (SQLite, one transaction per feed)", store_s))
    inside = 0.0
    for _, _, label in STORE_PARTS:
        if f"ingest {label}" in stage:
            inside += stage[f"ingest {label}"]
            print(row(f"&nbsp;&nbsp;{label}", stage[f"ingest {label}"]))
    print(row("&nbsp;&nbsp;rest (exact-hash and sighting queries, sighting upsert, first version)",
              store_s - inside))
    print(row("full-text decision (PageQueue.consider)", stage.get("ingest full-text decision", 0.0)))
    print(row("archive_payload (zlib + insert of the raw feed)", stage["ingest archive"]))
    print(row("record_poll (schedule, fetch_log row)", stage["ingest record_poll"]))
    print(row("rest of poll_source (sessions, known_entries, commit)", other_s))
    render_s = med("render")
    print(f"| render latest {RENDER_LIMIT} as Atom (build_feed) | {render_s:.3f} | "
          f"{1000 * render_s / RENDER_LIMIT:.3f} per feed item | {rate(RENDER_LIMIT, render_s)} feed items/s "
          f"| {100 * render_s / e2e_s:.1f}% |")
    print(f"| **end to end** | **{e2e_s:.3f}** | **{1000 * e2e_s / n:.3f}** | **{rate(n, e2e_s)}** | 100% |")

    repoll_s = med("repoll")
    parse_r, raw_r = stage.get("repoll parse", 0.0), stage.get("repoll raw hash", 0.0)
    archive_r = stage.get("repoll archive", 0.0)
    print("\n## Re-poll and memory\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| re-poll, all of it | {repoll_s:.3f} s |")
    print(f"| &nbsp;&nbsp;parse_feed | {parse_r:.3f} s ({100 * parse_r / repoll_s:.0f}%) |")
    print(f"| &nbsp;&nbsp;archive_payload (zlib of bytes already archived) | {archive_r:.3f} s "
          f"({100 * archive_r / repoll_s:.0f}%) |")
    print(f"| &nbsp;&nbsp;raw_entry_hash | {raw_r:.3f} s |")
    print(f"| &nbsp;&nbsp;rest (known_entries, touch_sightings, scheduling, commit) "
          f"| {repoll_s - parse_r - raw_r - archive_r:.3f} s |")
    print(f"| tracemalloc peak, first poll of one {args.items}-item feed + render (Python heap only) "
          f"| {peak / 2**20:.1f} MiB |")
    print(f"| ru_maxrss after imports + feed generation | {rss_before:.0f} MiB |")
    print(f"| ru_maxrss after the timed feedwash runs | {rss_pipeline:.0f} MiB |")
    if naive:
        print(f"| ru_maxrss after the naive baseline | {maxrss_mib():.0f} MiB |")
    print(f"\nLoad average at end: {loadavg()}. Stage wrappers add ~1 µs per call. "
          f"Benchmark wall time: {time.perf_counter() - started:.0f} s.")

    if args.profile:
        profile(feeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
