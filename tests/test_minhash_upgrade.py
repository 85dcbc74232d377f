"""A database fingerprinted by an older sketch version: migration 0004_minhash_m2 clears the
stale sketches, bands and clusters, and `feedwash db upgrade` re-fingerprints and re-clusters
every article (SQLite and PostgreSQL)."""

from __future__ import annotations

import struct

from alembic import command
from sqlalchemy import func, insert, select, update
from typer.testing import CliRunner

from tests.test_dedup_storage import OTHER_STORY, PARAGRAPHS, T0, _article, _html, _reprint, _store
from worker.cli import app
from worker.core import neardup
from worker.storage import migrate
from worker.storage.db import transaction
from worker.storage.models import Article, ArticleBand, Cluster

runner = CliRunner()


def _m1_blob(size: int) -> bytes:
    """What neardup m1 stored: the set size and 128 values, no version."""
    return struct.pack("<I128I", size, *range(128))


def test_upgrade_refingerprints_articles_of_an_older_sketch_version(database_url: str) -> None:
    first = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS), "http://a.test/1"))
    reprint = _store("http://b.test/feed", _reprint())
    other = _store("http://c.test/feed", _article("id:c", "彗星", _html(OTHER_STORY)))
    assert reprint.cluster_id is not None  # the reprint joined the first story
    ids = (first.article_id, reprint.article_id, other.article_id)

    config = migrate.alembic_config(database_url)
    try:
        command.downgrade(config, "0003_fulltext")
        with transaction() as session:  # the downgrade cleared them; put back an m1-era state
            assert session.execute(select(func.count()).select_from(ArticleBand)).scalar_one() == 0
            session.execute(update(Article).values(minhash=_m1_blob(300)))
            session.execute(insert(ArticleBand), [
                {"band": band, "hash": band, "article_id": article_id}
                for article_id in ids for band in range(neardup.NUM_BANDS)])
            # m1 clustered the comet story with the reprint: the stale cluster must not survive.
            cluster = Cluster(representative_id=reprint.article_id, created_at=T0, updated_at=T0)
            session.add(cluster)
            session.flush()
            session.execute(update(Article).where(Article.id.in_(ids[1:])).values(cluster_id=cluster.id))
        assert neardup.unpack(_m1_blob(300)) == neardup.Sketch((), 0)  # never compared with m2
    finally:
        result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "3 articles fingerprinted for near duplicates, 1 joined a cluster" in result.output

    with transaction() as session:
        rows = {r.id: r for r in session.execute(select(Article.id, Article.text, Article.minhash,
                                                        Article.cluster_id))}
        bands = set(session.execute(select(ArticleBand.article_id, ArticleBand.band, ArticleBand.hash)))
        clusters = session.execute(select(Cluster.id, Cluster.representative_id)).all()
    for article_id, row in rows.items():
        sketch, hashes = neardup.sketch_and_bands(row.text, neardup.NearDupSettings())
        assert row.minhash.startswith(b"m2") and neardup.unpack(row.minhash) == sketch
        assert {(band, value) for a, band, value in bands if a == article_id} == set(enumerate(hashes))
    assert len(clusters) == 1 and clusters[0].representative_id == first.article_id
    assert [rows[i].cluster_id for i in ids] == [clusters[0].id, clusters[0].id, None]
    assert "0 articles" not in runner.invoke(app, ["db", "upgrade"]).output  # nothing left to do


def test_reindex_also_takes_sketches_an_old_worker_wrote_after_the_upgrade(database_url: str) -> None:
    """A worker still running m1 code during the upgrade writes m1 sketches (not NULL): the
    next `feedwash articles reindex` (or `db upgrade`) finds and re-fingerprints them too."""
    current = _store("http://a.test/feed", _article("id:1", "GDP", _html(PARAGRAPHS)))
    stale = _store("http://b.test/feed", _article("id:2", "彗星", _html(OTHER_STORY)))
    with transaction() as session:
        session.execute(update(Article).where(Article.id == stale.article_id).values(minhash=_m1_blob(50)))
    result = runner.invoke(app, ["articles", "reindex"])
    assert result.exit_code == 0, result.output
    with transaction() as session:
        blobs = dict(session.execute(select(Article.id, Article.minhash)).all())
    assert all(blob.startswith(b"m2") for blob in blobs.values())
    assert set(blobs) == {current.article_id, stale.article_id}
