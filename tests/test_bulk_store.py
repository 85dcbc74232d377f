"""worker/storage/bulk.py on SQLite and PostgreSQL: a chunk stored together ends exactly as
storing its entries one by one (repo.store_article) would: outcomes, articles, clusters."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, text

from tests.test_dedup_storage import OTHER_STORY, PARAGRAPHS, T0, _article, _html, _store
from worker.core.types import CleanArticle
from worker.storage import bulk, dedup, repo, statements
from worker.storage.db import transaction
from worker.storage.models import Article, ArticleBand, ArticleVersion, Cluster, Sighting

SOURCE = "http://bulk.test/feed"


def _store_chunk(articles: list[CleanArticle], source: str = SOURCE) -> list[repo.Stored]:
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", source, T0)
        pending = [bulk.Pending(a, f"raw-{a.entry.entry_key}") for a in articles]
        return bulk.store_articles(session, source_id, source, pending, T0)


def _rows(model: type) -> int:
    with transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_chunk_of_new_articles_goes_in_together(database_url: str) -> None:
    chunk = [_article(f"id:{n}", f"story {n}",
                      _html([f"第{n}条：{p}" for p in (PARAGRAPHS if n % 2 else OTHER_STORY)]))
             for n in range(6)]
    policy = dedup.DedupPolicy.from_settings()
    banded = sum(bool(dedup.fingerprint_for(a, policy).bands) for a in chunk)
    stored = _store_chunk(chunk)
    assert [s.outcome for s in stored] == ["new"] * 6
    assert len({s.article_id for s in stored}) == 6
    assert _rows(Article) == 6 and _rows(ArticleVersion) == 6 and _rows(Sighting) == 6
    assert banded == 3 and _rows(ArticleBand) == banded * 32  # the comet story is too short
    with transaction() as session:
        stored_hashes = session.execute(select(Article.id, Article.content_hash)).all()
        raw = session.execute(select(Sighting.entry_key, Sighting.raw_hash)).all()
    assert dict(stored_hashes) == {s.article_id: a.content_hash for s, a in zip(stored, chunk, strict=True)}
    assert sorted(raw) == sorted((f"id:{n}", f"raw-id:{n}") for n in range(6))


def test_a_mixed_chunk_ends_as_one_by_one_storing_would(database_url: str) -> None:
    gdp = _article("id:gdp", "GDP", _html(PARAGRAPHS), "http://bulk.test/gdp")
    _store("http://other.test/feed", gdp)  # stored before the chunk, by another source
    _store(SOURCE, _article("id:edited", "彗星", _html(OTHER_STORY)))  # this source's entry, first version
    comet_edited = _article("id:edited", "彗星", _html([*OTHER_STORY[:3], "专家提醒，观测时注意安全。"]))
    reprint_of_stored = _article("id:reprint", "GDP 转载", _html([*PARAGRAPHS[:4], "（本报综合）"]),
                                 published=T0 + timedelta(hours=1))
    fresh = _article("id:fresh", "全新", _html([f"新闻{p}" for p in OTHER_STORY[::-1]]))
    same_as_fresh = _article("id:again", "全新（重发）", _html([f"新闻{p}" for p in OTHER_STORY[::-1]]))
    exact_copy = _article("id:copy", "GDP copy", _html(PARAGRAPHS))
    chunk = [reprint_of_stored, fresh, comet_edited, same_as_fresh, exact_copy]
    stored = _store_chunk(chunk)
    assert [s.outcome for s in stored] == ["new", "new", "updated", "duplicate", "duplicate"]
    assert stored[3].article_id == stored[1].article_id  # same content earlier in the chunk
    assert stored[0].cluster_id is not None
    with transaction() as session:
        query = select(Article).where(Article.content_hash == gdp.content_hash)
        gdp_row = session.execute(query).scalar_one()
        assert stored[4].article_id == gdp_row.id
        assert gdp_row.cluster_id == stored[0].cluster_id
        cluster = session.get(Cluster, stored[0].cluster_id)
        assert cluster is not None and cluster.representative_id == gdp_row.id  # earliest
    assert _rows(Article) == 4  # gdp, comet (edited in place), reprint, fresh
    assert _rows(Sighting) == 2 + 4  # the edited entry's sighting is the one it had


def test_near_duplicates_inside_one_chunk_cluster(database_url: str) -> None:
    chunk = [_article("id:a", "GDP", _html(PARAGRAPHS)),
             _article("id:b", "彗星", _html(OTHER_STORY)),
             _article("id:c", "GDP 转载", _html([*PARAGRAPHS[:4], "（来源：经济日报）"]),
                      published=T0 + timedelta(minutes=5))]
    stored = _store_chunk(chunk)
    assert [s.outcome for s in stored] == ["new", "new", "new"]
    assert stored[0].cluster_id is None  # nothing before it: it is joined by the later one
    assert stored[2].cluster_id is not None and stored[1].cluster_id is None
    with transaction() as session:
        clusters = dict(session.execute(select(Article.id, Article.cluster_id)).all())
        cluster = session.get(Cluster, stored[2].cluster_id)
        assert cluster is not None and cluster.representative_id == stored[0].article_id
    assert clusters[stored[0].article_id] == clusters[stored[2].article_id]
    assert _rows(Cluster) == 1


def test_a_chunk_of_reprints_of_one_stored_story_joins_its_cluster(database_url: str) -> None:
    """Wire copy: every article of the chunk shares bands with the stored story and with each
    other; each is clustered one by one and all end in one cluster."""
    _store("http://other.test/feed", _article("id:gdp", "GDP", _html(PARAGRAPHS)))
    chunk = [_article(f"id:{n}", f"GDP {n}", _html([*PARAGRAPHS[:4], f"（第{n}家媒体转载）"]),
                      published=T0 + timedelta(minutes=n)) for n in range(3)]
    stored = _store_chunk(chunk)
    assert [s.outcome for s in stored] == ["new"] * 3
    assert len({s.cluster_id for s in stored}) == 1 and stored[0].cluster_id is not None
    assert _rows(Cluster) == 1
    with transaction() as session:
        assert session.execute(select(func.count()).where(Article.cluster_id.is_not(None))).scalar_one() == 4


def test_the_band_probe_names_exactly_the_stored_pairs(database_url: str) -> None:
    policy = dedup.DedupPolicy.from_settings()
    stored_bands = dedup.fingerprint_for(_article("id:a", "GDP", _html(PARAGRAPHS)), policy).bands
    other_bands = dedup.fingerprint_for(_article("id:b", "Comet", _html(OTHER_STORY * 3)), policy).bands
    _store_chunk([_article("id:a", "GDP", _html(PARAGRAPHS))])
    mixed = (*stored_bands[:16], *other_bands[16:])  # half of each, in band order
    with transaction() as session:
        found = dedup.bands_in_store(session, [other_bands, mixed])
        again = dedup.bands_in_store(session, [stored_bands, mixed, stored_bands])
    assert len(stored_bands) == 32 and not set(enumerate(other_bands)) & set(enumerate(stored_bands))
    assert found == set(enumerate(stored_bands[:16]))
    assert again == set(enumerate(stored_bands))


def test_bulk_rows_hold_the_same_values_as_one_by_one_rows(database_url: str) -> None:
    """SQLite's bulk insert converts values itself (statements.insert_new_articles): JSON,
    dates and bytes must come out as the Core insert of store_article writes them."""
    def with_categories(article: CleanArticle) -> CleanArticle:
        entry = replace(article.entry, categories=("财经", "宏观"), author="新华社", lead_image=None)
        return replace(article, entry=entry)

    one = with_categories(_article("id:one", "GDP", _html(PARAGRAPHS), link="http://bulk.test/a/1"))
    bulked = with_categories(_article("id:bulk", "彗星", _html(OTHER_STORY * 2), link="http://bulk.test/a/2"))
    _store(SOURCE, one)
    _store_chunk([bulked])
    columns = ("categories", "removed", "provenance", "published_at", "updated_at", "created_at",
               "language", "reading_length", "cluster_id", "content_source")
    with transaction() as session:
        raw = session.execute(text(f"SELECT link, {', '.join(columns)}, minhash FROM articles"
                                   " ORDER BY id")).all()
        loaded = session.execute(select(Article).order_by(Article.id)).scalars().all()
    by_one, by_bulk = raw
    for name, a, b in zip(columns, by_one[1:-1], by_bulk[1:-1], strict=True):
        if name not in ("provenance", "removed", "reading_length"):  # the two texts differ
            assert a == b, name
    assert type(by_one.minhash) is type(by_bulk.minhash) is bytes
    assert [a.categories for a in loaded] == [["财经", "宏观"]] * 2
    assert loaded[1].provenance == bulked.provenance and loaded[1].removed == bulked.removed
    assert loaded[1].published_at == T0 and loaded[1].author == "新华社"


def test_a_row_the_bulk_insert_leaves_out_is_stored_one_by_one(database_url: str) -> None:
    """An entry key whose public id is taken though no sighting says so (its sightings were
    deleted): the bulk insert skips the row and store_article stores it."""
    _store(SOURCE, _article("id:k", "GDP", _html(PARAGRAPHS)))
    with transaction() as session:
        session.execute(delete(Sighting))
    [stored] = _store_chunk([_article("id:k", "Comet", _html(OTHER_STORY * 2))])
    with transaction() as session:
        titles = dict(session.execute(select(Article.id, Article.title)).all())
    assert sorted(titles.values()) == ["Comet", "GDP"] and titles[stored.article_id] == "Comet"


def _stored_bands(session: Any) -> set[tuple[int, int, int]]:
    return {tuple(row) for row in session.execute(select(ArticleBand.band, ArticleBand.hash,
                                                         ArticleBand.article_id)).all()}


def test_the_rows_of_a_chunk_belong_to_the_right_articles(database_url: str) -> None:
    """Ids taken as the next ones after the largest (statements.insert_new_articles) and band
    rows written as runs of consecutive ids (insert_bands_of_new_articles): every version,
    sighting and band row names the article it belongs to."""
    chunk = [_article(f"id:{n}", f"story {n}", _html([f"第{n}条：{p}" for p in PARAGRAPHS]))
             for n in range(4)]
    _store(SOURCE, _article("id:first", "Comet", _html(OTHER_STORY * 3)))  # ids do not start at 1
    stored = _store_chunk(chunk)
    policy = dedup.DedupPolicy.from_settings()
    ids = [s.article_id for s in stored]
    assert [s.outcome for s in stored] == ["new"] * 4 and ids == sorted(ids) and ids[0] > 1
    with transaction() as session:
        hashes = dict(session.execute(select(Article.id, Article.content_hash)).all())
        versions = session.execute(select(ArticleVersion.article_id, ArticleVersion.version,
                                          ArticleVersion.content_hash, ArticleVersion.reason,
                                          ArticleVersion.bumped, ArticleVersion.created_at)
                                   .order_by(ArticleVersion.id)).all()
        sightings = dict(session.execute(select(Sighting.entry_key, Sighting.article_id)).all())
        bands = _stored_bands(session)
    assert [hashes[i] for i in ids] == [a.content_hash for a in chunk]
    assert [tuple(v) for v in versions[1:]] == [(i, 1, a.content_hash, "new", True, T0)
                                               for i, a in zip(ids, chunk, strict=True)]
    assert all(sightings[a.entry.entry_key] == i for i, a in zip(ids, chunk, strict=True))
    expected = {(band, value, i) for i, a in zip(ids, chunk, strict=True)
                for band, value in enumerate(dedup.fingerprint_for(a, policy).bands)}
    assert expected <= bands and len(bands - expected) == 32  # and the first article's


def test_ids_of_a_chunk_with_a_row_left_out(database_url: str) -> None:
    """A row the bulk insert leaves out in the middle of a chunk: the others' ids are looked up
    (no longer the next ones in a row), and their rows still name the right article."""
    _store(SOURCE, _article("id:k", "GDP", _html(PARAGRAPHS)))
    with transaction() as session:
        session.execute(delete(Sighting))
    chunk = [_article("id:a", "A", _html([f"甲：{p}" for p in OTHER_STORY * 3])),
             _article("id:k", "K", _html([f"乙：{p}" for p in OTHER_STORY * 3])),
             _article("id:b", "B", _html([f"丙：{p}" for p in OTHER_STORY * 3]))]
    stored = _store_chunk(chunk)
    policy = dedup.DedupPolicy.from_settings()
    with transaction() as session:
        titles = dict(session.execute(select(Article.id, Article.title)).all())
        versions = dict(session.execute(select(ArticleVersion.article_id, ArticleVersion.content_hash)).all())
        bands = _stored_bands(session)
    assert [titles[s.article_id] for s in stored] == ["A", "K", "B"]
    # (K goes in one by one under another public id, as store_article stores a lost race:
    # without a version or bands, as before)
    assert [versions[s.article_id] for s in stored[::2]] == [a.content_hash for a in chunk[::2]]
    for s, a in zip(stored[::2], chunk[::2], strict=True):
        fingerprint = dedup.fingerprint_for(a, policy)
        assert {(band, value, s.article_id) for band, value in enumerate(fingerprint.bands)} <= bands


def test_a_hash_value_repeated_in_another_band_makes_no_candidate(database_url: str) -> None:
    # _with_candidates builds (band, hash) pairs only when a hash value repeats in the chunk: a
    # value shared across two different bands is no shared pair, a value in the same band is.
    policy = dedup.DedupPolicy.from_settings()
    first = dedup.fingerprint_for(_article("id:x", "GDP", _html(PARAGRAPHS)), policy)
    unrelated = tuple(value ^ 1 for value in first.bands)  # the same text: verified if paired
    other_band = replace(first, bands=(*unrelated[:5], first.bands[4], *unrelated[6:]))
    same_band = replace(first, bands=(*unrelated[:4], first.bands[4], *unrelated[5:]))
    assert bulk._sharing_a_band({1: first, 2: other_band}) == {}
    assert bulk._sharing_a_band({1: first, 2: same_band}) == {1: {1, 2}, 2: {1, 2}}
    with transaction() as session:
        assert bulk._with_candidates(session, {1: first, 2: other_band}, policy) == []
        assert bulk._with_candidates(session, {1: first, 2: same_band}, policy) == [2]


def test_known_identities_finds_the_values_the_expanding_lists_find(database_url: str) -> None:
    # SQLite reads the lists as JSON arrays unless one holds a NUL (json_each ends a string at
    # \u0000; a value spelling out \u0000 goes the expanding way too); both ways must name
    # exactly the known values, whatever characters they hold. PostgreSQL text holds no NUL.
    nul = ["a\\u0000"] if database_url.startswith("postgresql") else ["a\x00b", "a\\u0000"]
    stored = [*nul, "x\x01y\x1f", "中文", "\U0001f600", 'q"\\/']
    unknown = ["\u2028", "", " sp ", "x\x01y"]
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", SOURCE, T0)
        session.execute(text("INSERT INTO tombstones (kind, key, detail, article_id, deleted_at)"
                             " VALUES ('entry', :key, '', 0, :now)"), [{"key": k, "now": T0} for k in stored])
        params: dict[str, Any] = {"stones": [*stored, *unknown], "hashes": [], "source_id": source_id,
                                  "entry_keys": ["nothing"], "urls": unknown}
        flag = {statements.TOMBSTONES_EXIST}  # there are tombstones
        assert statements.known_identities(session, params) == {*stored, *flag}
        without_nul = {**params, "stones": [*stored[len(nul):], *unknown]}
        assert statements.known_identities(session, without_nul) == {*stored[len(nul):], *flag}
        expanding = statements.bulk_statements(session).known_identities
        assert set(session.execute(expanding, params).scalars()) == {*stored, *flag}
        session.execute(text("DELETE FROM tombstones"))
        assert statements.known_identities(session, params) == set()
        assert set(session.execute(expanding, params).scalars()) == set()


def test_a_chunk_after_a_delete_keeps_the_tombstoned_entries_out(database_url: str) -> None:
    # Without tombstones a chunk's lookup computes no tombstone key; with them it must.
    link = "https://news.test/2026/03/gdp.html"
    first = _store(SOURCE, _article("id:1", "GDP", _html(PARAGRAPHS), link))
    with transaction() as session:
        assert dedup.delete_article(session, first.article_id, T0)
    fresh = _article("id:fresh", "全新", _html([f"新闻{p}" for p in OTHER_STORY[::-1]]))
    chunk = [_article("id:1", "彗星", _html(OTHER_STORY)),  # the entry key only
             _article("id:y", "GDP", _html(PARAGRAPHS[1:]), link + "?utm_medium=x"),  # the URL only
             fresh]
    assert [s.outcome for s in _store_chunk(chunk)] == ["tombstoned", "tombstoned", "new"]
