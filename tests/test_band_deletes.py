"""An article's band rows go with it, and with its old sketch, on SQLite and PostgreSQL.

SQLite has neither a foreign key nor an index from article_bands to articles (migration 0007):
dedup.delete_bands_of deletes an article's rows by their key, computed from its stored sketch,
and scans for those of an article whose sketch is missing or of another version. Every path
that deletes an article or replaces its sketch is checked here for rows left behind."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update

from tests.test_dedup_storage import OTHER_STORY, PARAGRAPHS, T0, _article, _html, _reprint, _store
from worker.core import neardup
from worker.storage import bulk, dedup, pages, repo
from worker.storage.db import transaction
from worker.storage.models import Article, ArticleBand, Sighting

LONG_OTHER_STORY = OTHER_STORY * 2  # long enough to be banded


def _bands() -> dict[int, set[tuple[int, int]]]:
    """article id -> its (band, hash) rows, for every row in article_bands."""
    found: dict[int, set[tuple[int, int]]] = {}
    with transaction() as session:
        for band, value, article_id in session.execute(
                select(ArticleBand.band, ArticleBand.hash, ArticleBand.article_id)):
            found.setdefault(article_id, set()).add((band, value))
    return found


def _two_banded_stories() -> tuple[int, int]:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    other = _store("http://b.test/feed", _article("id:2", "彗星", _html(LONG_OTHER_STORY), "http://b.test/2"))
    bands = _bands()
    assert len(bands[first.article_id]) == len(bands[other.article_id]) == neardup.NUM_BANDS
    return first.article_id, other.article_id


def test_deleting_an_article_deletes_exactly_its_bands(database_url: str) -> None:
    first, other = _two_banded_stories()
    kept = _bands()[other]
    with transaction() as session:
        assert dedup.delete_article(session, first, T0)
    assert _bands() == {other: kept}


@pytest.mark.parametrize("sketch", [None, b"m1" + bytes(520), b"junk"])
def test_an_article_without_a_current_sketch_leaves_no_bands(database_url: str, sketch: bytes | None) -> None:
    """Bands of another band function (an older worker writing during an upgrade) cannot be
    computed from the article's sketch: they are found by a scan."""
    first, other = _two_banded_stories()
    kept = _bands()[other]
    with transaction() as session:
        session.execute(update(Article).where(Article.id == first).values(minhash=sketch))
    with transaction() as session:
        assert dedup.delete_article(session, first, T0)
    assert _bands() == {other: kept}


def test_removing_a_source_deletes_the_bands_of_the_articles_it_takes(database_url: str) -> None:
    first, other = _two_banded_stories()
    kept = _bands()[other]
    with transaction() as session:
        source_id = session.execute(
            select(Sighting.source_id).where(Sighting.article_id == first)).scalar_one()
        assert repo.remove_source(session, source_id)
    assert _bands() == {other: kept}


def test_collapsing_an_article_into_another_deletes_its_bands(database_url: str) -> None:
    first, other = _two_banded_stories()
    kept = _bands()[other]
    with transaction() as session:
        session.execute(delete(Sighting).where(Sighting.article_id == first))
        assert pages.collapse_article(session, first, other)
    assert _bands() == {other: kept}


def test_re_fingerprinting_replaces_the_bands_of_the_old_sketch(database_url: str) -> None:
    first, other = _two_banded_stories()
    kept = _bands()[other]
    policy = dedup.DedupPolicy.from_settings()
    fingerprint = dedup.Fingerprint.of("\n".join(PARAGRAPHS[::-1] * 2), policy)
    with transaction() as session:
        dedup.index_article(session, first, fingerprint, policy, T0)
    assert _bands() == {other: kept, first: set(enumerate(fingerprint.bands))}


def test_articles_stored_in_bulk_take_their_bands_with_them(database_url: str) -> None:
    stories = [_article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"),
               _article("id:2", "彗星", _html(LONG_OTHER_STORY), "http://a.test/2"),
               _reprint()]
    with transaction() as session:
        source_id = repo.ensure_source(session, "feed", "http://a.test/feed", T0)
        stored = bulk.store_articles(session, source_id, "http://a.test/feed",
                                     [bulk.Pending(a, a.content_hash[-16:]) for a in stories], T0)
    ids = [s.article_id for s in stored]
    assert set(_bands()) == set(ids)
    with transaction() as session:
        for article_id in ids[:2]:
            assert dedup.delete_article(session, article_id, T0)
    assert set(_bands()) == {ids[2]}
