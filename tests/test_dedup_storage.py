"""Dedup storage on SQLite and PostgreSQL: exact keys, canonical URLs, short bodies, versions and
the update cap, near-duplicate clusters (also under concurrent ingest), tombstones, the output."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from worker.cli import app
from worker.core.pipeline import clean_entry
from worker.core.types import CleanArticle, ParsedEntry
from worker.publish import build_feed
from worker.settings import get_settings
from worker.storage import dedup, repo
from worker.storage.db import transaction
from worker.storage.models import Article, ArticleBand, ArticleVersion, Cluster, Sighting, Tombstone

runner = CliRunner()
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PARAGRAPHS = [
    "国家统计局今天发布数据显示，一季度国内生产总值同比增长百分之五点三，比上年四季度环比增长一点六个百分点，经济运行开局良好。",
    "分产业看，第一产业增加值同比增长百分之三点三，第二产业增加值增长百分之六点零，第三产业增加值增长百分之五点零。",
    "从需求看，社会消费品零售总额同比增长百分之四点七，其中服务零售额增长百分之十点零，固定资产投资同比增长百分之四点五。",
    "国家统计局新闻发言人表示，外部环境复杂性严峻性不确定性上升，国内有效需求仍显不足，经济持续回升向好的基础还需巩固。",
    "专家认为，随着一系列稳增长政策持续发力，二季度经济有望保持平稳增长，全年预期目标的实现具有较好的支撑。",
]
OTHER_STORY = [
    "本周六晚，国家天文台发布消息称，一颗亮度较高的彗星将在西北方低空出现，肉眼在光污染较少的地方即可看到。",
    "天文爱好者建议选择开阔的观测地点，日落后一小时左右开始观察，使用双筒望远镜可以看到彗星的尾巴结构。",
    "这颗彗星的轨道周期长达数万年，此次过近日点之后将逐渐远离太阳，下一次回归要等到遥远的未来。",
    "专家提醒，观测时注意防寒保暖，不要在道路旁停留，也不要用望远镜直接对准刚刚落山的太阳方向。",
]


def _html(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def _article(key: str, title: str, html: str, link: str | None = None,
             published: datetime = T0, canonical: str | None = None) -> CleanArticle:
    entry = ParsedEntry(entry_key=key, title=title, html=html, link=link, published=published,
                        updated=published, canonical_link=canonical)
    return clean_entry(entry, [], None, get_settings().short_text_chars)


def _store(source: str, article: CleanArticle, now: datetime = T0) -> repo.Stored:
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", source, now)
        return repo.store_article(session, source_id, source, article, article.content_hash[-16:], now)


def _count(model: type) -> int:
    with transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_exact_duplicates_across_sources_are_one_article(database_url: str) -> None:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    second = _store("http://b.test/feed",
                    _article("id:9", "GDP 数据", "<div>" + _html(PARAGRAPHS) + "</div>", "http://b.test/9"))
    assert (first.outcome, second.outcome) == ("new", "duplicate")
    assert first.article_id == second.article_id
    assert (_count(Article), _count(Sighting)) == (1, 2)


def test_canonical_url_is_a_second_exact_key(database_url: str) -> None:
    link = "https://news.test/2026/03/gdp.html"
    _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), link + "?utm_source=rss"))
    # Another source, same page (tracking parameters differ), text corrected by a paragraph.
    corrected = _store("http://b.test/feed", _article(
        "id:7", "GDP", _html(PARAGRAPHS[:4]), "https://NEWS.test/2026/03/gdp.html?spm=x#top"))
    assert corrected.outcome == "updated"
    assert (_count(Article), _count(Sighting)) == (1, 2)
    with transaction() as session:
        assert session.execute(select(Article.canonical_url)).scalar_one() == link


def test_a_listing_page_url_does_not_fold_different_articles(database_url: str) -> None:
    listing = "https://news.test/latest.html"
    _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), listing))
    other = _store("http://a.test/feed", _article("id:2", "彗星", _html(OTHER_STORY), listing))
    assert other.outcome == "new"
    with transaction() as session:
        urls = session.execute(select(Article.canonical_url)).scalars().all()
    assert urls == [listing, listing]


@pytest.mark.parametrize("body", ["在网页中查看", "0 likes\n0 saves", ""])
def test_short_bodies_never_merge(database_url: str, body: str) -> None:
    for i in range(3):
        _store("http://a.test/feed", _article(f"id:{i}", f"不同的标题 {i}", f"<p>{body}</p>"))
    assert _count(Article) == 3
    assert (_count(Cluster), _count(ArticleBand)) == (0, 0)


def _versions() -> list[tuple[int, str, bool]]:
    with transaction() as session:
        rows = session.execute(select(ArticleVersion.version, ArticleVersion.reason, ArticleVersion.bumped)
                               .order_by(ArticleVersion.version))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _updated_at() -> datetime:
    with transaction() as session:
        return session.execute(select(Article.updated_at)).scalar_one()


def test_updates_version_in_place_and_trivial_edits_do_not_churn(database_url: str) -> None:
    source = "http://a.test/feed"
    _store(source, _article("id:1", "GDP", _html(PARAGRAPHS)))
    typo = [PARAGRAPHS[0].replace("开局良好", "开局很好"), *PARAGRAPHS[1:]]
    assert _store(source, _article("id:1", "GDP", _html(typo)), T0 + timedelta(hours=1)).outcome == "updated"
    assert _updated_at() == T0
    _store(source, _article("id:1", "GDP", _html([*typo, OTHER_STORY[0]])), T0 + timedelta(hours=2))
    assert _updated_at() == T0 + timedelta(hours=2)
    assert _count(Article) == 1
    assert _versions() == [(1, "new", True), (2, "trivial", False), (3, "update", True)]


def test_a_feed_that_changes_every_poll_is_capped(database_url: str) -> None:
    source = "http://a.test/feed"
    _store(source, _article("id:1", "时钟", _html(PARAGRAPHS)))
    extras = [*OTHER_STORY, "截至发稿时，本页面已有一万两千人阅读，评论区留言五百余条，编辑部将持续更新。"]
    for poll, extra in enumerate(extras, 1):  # a different extra paragraph: a real change every poll
        _store(source, _article("id:1", "时钟", _html([*PARAGRAPHS, extra])), T0 + timedelta(hours=poll))
    reasons = [reason for _, reason, _ in _versions()]
    assert reasons == ["new", "update", "update", "update", "capped", "capped"]
    assert _updated_at() == T0 + timedelta(hours=3)  # the third update was the last bump
    with transaction() as session:
        assert "编辑部将持续更新" in session.execute(select(Article.text)).scalar_one()  # still stored
    # A day later the cap has room again.
    _store(source, _article("id:1", "时钟", _html(PARAGRAPHS[1:])), T0 + timedelta(days=1, hours=2))
    assert _updated_at() == T0 + timedelta(days=1, hours=2)


def _reprint() -> CleanArticle:
    """Another outlet: new title, its own intro and footer, a paragraph dropped (true Jaccard
    0.715 with the original: a near duplicate on the texts, not only by the sketch's estimate)."""
    html = "<p>来源：经济日报</p>" + _html(PARAGRAPHS[:3] + PARAGRAPHS[4:]) + "<p>本文为转载。</p>"
    return _article("id:r", "一季度GDP同比增长5.3%", html, "http://b.test/r", T0 + timedelta(hours=3))


def test_near_duplicates_join_one_cluster_and_fold_in_the_feed(database_url: str) -> None:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    _store("http://c.test/feed", _article("id:2", "彗星", _html(OTHER_STORY), "http://c.test/2"))
    second = _store("http://b.test/feed", _reprint())
    assert second.outcome == "new" and second.cluster_id is not None
    with transaction() as session:
        cluster = session.get(Cluster, second.cluster_id)
        assert cluster is not None and cluster.representative_id == first.article_id  # earliest
        folded = json.loads(build_feed(session, get_settings(), "json"))
        everything = json.loads(build_feed(session, get_settings(), "json", include_duplicates=True))
        atom = build_feed(session, get_settings(), "atom").decode()
    assert len(folded["items"]) == 2 and len(everything["items"]) == 3
    gdp = next(i for i in folded["items"] if i["title"] == "GDP")
    ext = gdp["_feedwash"]
    assert ext["cluster_id"] == second.cluster_id and ext["duplicate_of"] is None
    assert [s["url"] for s in ext["sources"]] == ["http://a.test/1", "http://b.test/r"]
    assert ext["content_hash"].startswith("v2:")
    assert 'rel="related" href="http://b.test/r"' in atom
    dup = next(i for i in everything["items"] if i["title"] == "一季度GDP同比增长5.3%")
    assert dup["_feedwash"]["duplicate_of"] == gdp["id"]
    assert [s["url"] for s in dup["_feedwash"]["sources"]] == ["http://b.test/r"]


def test_a_seed_article_takes_the_url_a_feed_brings_for_it(database_url: str) -> None:
    """Seeds have no URL, so the item links to its page on feedwash, until a feed brings the
    same content with its original URL; a later source's URL does not replace that one."""
    seed = _store("/srv/seeds", _article("post.md", "GDP", _html(PARAGRAPHS)))
    with transaction() as session:
        item = json.loads(build_feed(session, get_settings(), "json"))["items"][0]
    assert item["url"].endswith(f"/articles/{seed.article_id}")
    _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/gdp?utm_source=rss"))
    _store("http://b.test/feed", _article("id:2", "GDP", _html(PARAGRAPHS), "http://b.test/reprint"))
    with transaction() as session:
        article = session.execute(select(Article)).scalar_one()
        item = json.loads(build_feed(session, get_settings(), "json"))["items"][0]
    assert (article.link, article.canonical_url) == ("http://a.test/gdp", "http://a.test/gdp")
    assert item["url"] == "http://a.test/gdp"
    assert item["_feedwash"]["sightings"] == 3


def test_an_item_lists_each_source_and_url_once_and_at_most_twenty(database_url: str) -> None:
    """One story repeated under 25 entry keys with one link, then 25 with a link each: the
    item's sources and related links stop at 20 distinct ones, and it counts every sighting."""
    for n in range(25):
        _store("http://a.test/feed", _article(f"id:same-{n}", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    with transaction() as session:
        item = json.loads(build_feed(session, get_settings(), "json"))["items"][0]
    assert [s["url"] for s in item["_feedwash"]["sources"]] == ["http://a.test/1"]
    assert item["_feedwash"]["sightings"] == 25
    for n in range(25):
        _store("http://b.test/feed", _article(f"id:own-{n}", "GDP", _html(PARAGRAPHS), f"http://b.test/{n}"))
    with transaction() as session:
        item = json.loads(build_feed(session, get_settings(), "json"))["items"][0]
        atom = build_feed(session, get_settings(), "atom").decode()
    urls = [s["url"] for s in item["_feedwash"]["sources"]]
    assert urls == ["http://a.test/1"] + [f"http://b.test/{n}" for n in range(19)]
    assert item["_feedwash"]["sightings"] == 50
    assert atom.count('rel="related"') == 19  # the 20 listed URLs but the item's own link


def test_longest_representative_is_configurable(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_CLUSTER_REPRESENTATIVE", "longest")
    get_settings.cache_clear()
    _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS[:4])))
    longer = _store("http://b.test/feed", _article(
        "id:2", "GDP 全文", _html([*PARAGRAPHS, "附：统计局答记者问全文将于明日公布，敬请关注后续报道。"]),
        published=T0 + timedelta(hours=1)))
    with transaction() as session:
        assert session.get(Cluster, longer.cluster_id).representative_id == longer.article_id  # type: ignore[union-attr]


def test_a_member_joining_a_cluster_displaces_its_representative_only_when_it_ranks_first(
    database_url: str,
) -> None:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), published=T0))
    later = _store("http://b.test/feed", _article(
        "id:2", "GDP 2", _html([*PARAGRAPHS[:4], "（本报记者）"]), published=T0 + timedelta(hours=2)))
    earlier = _store("http://c.test/feed", _article(
        "id:3", "GDP 3", _html([*PARAGRAPHS[:4], "（新华社）"]), published=T0 - timedelta(hours=1)))
    last = _store("http://d.test/feed", _article(
        "id:4", "GDP 4", _html([*PARAGRAPHS[:4], "（央视新闻）"]), published=T0 + timedelta(hours=5)))
    assert first.cluster_id is None
    assert later.cluster_id == earlier.cluster_id == last.cluster_id is not None
    with transaction() as session:
        cluster = session.get(Cluster, last.cluster_id)
        assert cluster is not None and cluster.representative_id == earlier.article_id
        members = session.execute(select(Article.id).where(Article.cluster_id == cluster.id)).scalars()
        assert sorted(members) == sorted(s.article_id for s in (first, later, earlier, last))


def test_concurrent_near_duplicates_end_in_one_cluster(database_url: str) -> None:
    with transaction() as session:  # sources first, so the threads only race on articles
        for url in ("http://a.test/feed", "http://b.test/feed"):
            repo.ensure_source(session, "feed", url, T0)
    articles = [("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS))),
                ("http://b.test/feed", _reprint())]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def ingest(source: str, article: CleanArticle) -> None:
        try:
            barrier.wait()
            _store(source, article)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=pair) for pair in articles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with transaction() as session:
        clusters = session.execute(select(Article.cluster_id)).scalars().all()
    assert len(clusters) == 2 and clusters[0] is not None and clusters[0] == clusters[1]
    assert _count(Cluster) == 1


def test_deleted_articles_never_come_back(database_url: str) -> None:
    link = "https://news.test/2026/03/gdp.html"
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), link))
    reprint = _store("http://b.test/feed", _reprint())
    result = runner.invoke(app, ["articles", "delete", str(first.article_id)])
    assert result.exit_code == 0, result.output
    assert _count(Tombstone) == 3  # content hash, entry key, canonical URL
    # The same entry, the same content from elsewhere, the same page with other text: all stay out.
    again = [
        _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), link)),
        _store("http://z.test/feed", _article("id:z", "GDP", _html(PARAGRAPHS))),
        _store("http://y.test/feed", _article("id:y", "GDP", _html(PARAGRAPHS[1:]), link + "?utm_medium=x")),
    ]
    assert [s.outcome for s in again] == ["tombstoned"] * 3
    with transaction() as session:
        remaining = session.execute(select(Article.id, Article.cluster_id)).all()
    assert [tuple(r) for r in remaining] == [(reprint.article_id, None)]  # its cluster dissolved
    assert _count(Cluster) == 0
    assert runner.invoke(app, ["articles", "delete", str(first.article_id)]).exit_code == 1


def test_articles_show_prints_sightings_versions_and_cluster(database_url: str) -> None:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    _store("http://b.test/feed", _reprint())  # joins the cluster, which an update does not undo
    _store("http://a.test/feed", _article("id:1", "GDP", _html([*PARAGRAPHS, OTHER_STORY[0]]),
                                          "http://a.test/1"), T0 + timedelta(hours=1))
    result = runner.invoke(app, ["articles", "show", str(first.article_id)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "source 1 (http://a.test/feed) entry id:1" in out
    assert f"content hash:  {_reprint().content_hash}" not in out
    assert "v1 " in out and "v2 " in out and "update" in out and "ratio 0.9" in out
    assert "cluster " in out and "一季度GDP同比增长5.3%" in out
    assert runner.invoke(app, ["articles", "show", "999"]).exit_code == 1


def test_web_feed_folds_duplicates_unless_all(sqlite_url: str) -> None:
    from fastapi.testclient import TestClient

    from worker.web.app import app as web

    _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    _store("http://b.test/feed", _reprint())
    client = TestClient(web)
    folded = client.get("/feeds/all.json").json()["items"]
    everything = client.get("/feeds/all.json?all=1").json()["items"]
    assert [i["title"] for i in folded] == ["GDP"]
    assert sorted(i["title"] for i in everything) == ["GDP", "一季度GDP同比增长5.3%"]
    result = runner.invoke(app, ["export", "--format", "json", "--all"])
    assert len(json.loads(result.stdout)["items"]) == 2


def test_removing_a_source_resettles_its_clusters(database_url: str) -> None:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    reprint = _store("http://b.test/feed", _reprint())
    assert reprint.cluster_id is not None
    with transaction() as session:
        source_id = session.execute(select(Sighting.source_id).where(
            Sighting.article_id == first.article_id)).scalar_one()
    assert runner.invoke(app, ["feeds", "remove", str(source_id)]).exit_code == 0
    with transaction() as session:
        remaining = [tuple(r) for r in session.execute(select(Article.id, Article.cluster_id))]
        items = json.loads(build_feed(session, get_settings(), "json"))["items"]
    assert remaining == [(reprint.article_id, None)] and _count(Cluster) == 0
    assert [i["title"] for i in items] == ["一季度GDP同比增长5.3%"]  # not hidden behind a gone representative


def test_reindex_fingerprints_articles_stored_before_dedup(database_url: str) -> None:
    _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS)))
    _store("http://b.test/feed", _reprint())
    with transaction() as session:  # as if stored by the pre-dedup schema
        session.execute(update(Article).values(minhash=None, cluster_id=None))
        session.execute(delete(ArticleBand))
        session.execute(delete(ArticleVersion))
        session.execute(delete(Cluster))
    result = runner.invoke(app, ["articles", "reindex"])
    assert result.exit_code == 0, result.output
    assert "2 articles indexed, 1 joined a cluster" in result.output
    assert (_count(Cluster), _count(ArticleVersion)) == (1, 2)
    assert _count(ArticleBand) == 2 * 32
    assert "0 articles indexed" in runner.invoke(app, ["articles", "reindex"]).output


def test_two_polls_reprinting_each_other_in_opposite_order_both_commit(database_url: str) -> None:
    """Each transaction holds the bands of its first story when it asks for the other's: a lock
    cycle on PostgreSQL. One lock wait is given up; both polls still commit everything."""
    with transaction() as session:
        for url in ("http://a.test/feed", "http://b.test/feed"):
            repo.ensure_source(session, "feed", url, T0)
    meteors = "彗星之后还将有流星雨，预计下月中旬达到极大，每小时可见数十颗。"
    gdp, comet = _html(PARAGRAPHS), _html([*OTHER_STORY, meteors])
    footer = "<p>本文为转载，如有侵权请联系删除。</p>"
    plans = [
        ("http://a.test/feed", [_article("a1", "GDP", gdp), _article("a2", "彗星（转）", comet + footer)]),
        ("http://b.test/feed", [_article("b1", "彗星", comet), _article("b2", "GDP（转）", gdp + footer)]),
    ]
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def poll(source: str, articles: list[CleanArticle]) -> None:
        try:
            with transaction() as session:
                source_id = repo.ensure_source(session, "feed", source, T0)
                repo.store_article(session, source_id, source, articles[0], "r1", T0)
                if session.get_bind().dialect.name == "postgresql":
                    barrier.wait()  # both now hold their first story's bands
                repo.store_article(session, source_id, source, articles[1], "r2", T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll, args=plan) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert _count(Article) == 4
    assert _count(Cluster) >= 1  # the writer that waited saw the other's commit


def test_the_fingerprint_reuses_the_nfkc_form_clean_entry_computed() -> None:
    """clean_entry carries its NFKC form of the text to fingerprint_for: the same fingerprint as
    from the text alone, and a form that is not of the article's text (replaced) is ignored."""
    article = _article("k", "标题", _html(PARAGRAPHS) + "<p>ＡＢＣ，１２３…</p>")
    assert article.nfkc_form is not None and article.nfkc_form.is_of(article.text)
    policy = dedup.DedupPolicy.from_settings()
    assert dedup.fingerprint_for(article, policy) == dedup.Fingerprint.of(article.text, policy)
    changed = dataclasses.replace(article, text=_html(OTHER_STORY))
    assert dedup.fingerprint_for(changed, policy) == dedup.Fingerprint.of(changed.text, policy)
