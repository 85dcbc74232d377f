"""Assertions about the database at the end of a scenario: nothing lost, nothing duplicated,
nothing partial."""

from __future__ import annotations

from sqlalchemy import func, select

from worker.storage.db import transaction
from worker.storage.models import Article, SeedFile, Sighting, Source


def article_count() -> int:
    with transaction() as session:
        return session.execute(select(func.count(Article.id))).scalar_one()


def polled_sources() -> dict[str, Source]:
    """Feed URL -> source, for feeds that have had a successful poll."""
    with transaction() as session:
        rows = session.execute(select(Source).where(Source.kind == "feed")).scalars().all()
        return {s.url: s for s in rows if s.last_success_at is not None}


def assert_consistent() -> None:
    """Every article is whole: it has at least one sighting and every field a reader needs; no
    content hash or (source, entry) appears twice; no sighting points nowhere."""
    with transaction() as session:
        orphans = session.execute(
            select(Article.id).where(~select(Sighting.id).where(Sighting.article_id == Article.id)
                                     .exists())).scalars().all()
        assert orphans == [], f"articles without a sighting: {orphans}"
        for article in session.execute(select(Article)).scalars():
            assert article.title and article.html and article.text and article.summary is not None, \
                f"article {article.id} is partial"
            assert article.content_hash and article.cleaner_version and article.public_id
        hashes = session.execute(select(Article.content_hash, func.count()).group_by(
            Article.content_hash).having(func.count() > 1)).all()
        assert hashes == []
        entries = session.execute(select(Sighting.source_id, Sighting.entry_key, func.count()).group_by(
            Sighting.source_id, Sighting.entry_key).having(func.count() > 1)).all()
        assert entries == []


def seed_files() -> list[SeedFile]:
    with transaction() as session:
        return list(session.execute(select(SeedFile).order_by(SeedFile.path)).scalars())


def sighting_keys() -> set[tuple[str, str]]:
    """(source URL, entry key) of every stored sighting."""
    with transaction() as session:
        rows = session.execute(select(Source.url, Sighting.entry_key).join(
            Source, Source.id == Sighting.source_id))
        return {(url, key) for url, key in rows}
