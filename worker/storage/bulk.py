"""Storing a poll's entries in a few statements per chunk instead of ~8 per entry.

Most entries of a first poll are plain new articles: no tombstone, no earlier sighting, content
and canonical URL not stored anywhere. Those go in together (executemany inserts of articles,
first versions, bands and sightings, one near-duplicate band probe for the whole chunk);
SQLAlchemy's per-statement cost was most of store_article's time (docs/benchmarks.md). Every
other entry (a duplicate, an update, a tombstone, an article at a known canonical URL, a lost
race) goes through repo.store_article one by one, after the new ones, so it sees them: the
outcome is the one sequential storing gives. Runs inside the caller's transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from worker.core import neardup
from worker.core.canonical import canonical_url
from worker.core.types import CleanArticle
from worker.storage import dedup, repo
from worker.storage.statements import (
    TOMBSTONES_EXIST,
    execute_many,
    insert_bands_of_new_articles,
    insert_first_versions,
    insert_new_articles,
    known_identities,
    statements,
)


@dataclass(frozen=True)
class Pending:
    """One cleaned entry to store, with the hash of its raw form (the sighting keeps it)."""

    article: CleanArticle
    raw_hash: str


def store_articles(
    session: Session, source_id: int, source_url: str, pending: Sequence[Pending], now: datetime,
) -> list[repo.Stored]:
    """repo.store_article for each pending entry, in order, with the same outcomes."""
    policy = dedup.DedupPolicy.from_settings()
    canonicals = [canonical_url(p.article.entry) for p in pending]
    fresh = _plainly_new(session, source_id, pending, canonicals)
    results: dict[int, repo.Stored] = {}
    if fresh:
        results.update(_insert_new(session, source_id, source_url, pending, canonicals, fresh, policy, now))
    for index, item in enumerate(pending):
        if index not in results:  # not plainly new, or its insert lost a race: one by one
            results[index] = repo.store_article(session, source_id, source_url, item.article,
                                                item.raw_hash, now)
    return [results[index] for index in range(len(pending))]


def _plainly_new(
    session: Session, source_id: int, pending: Sequence[Pending], canonicals: Sequence[str | None],
) -> list[int]:
    """Indexes of entries whose content, entry and canonical URL the database does not know,
    and that share none of them with an earlier entry of the chunk."""
    hashes = [p.article.content_hash for p in pending]
    keys = [p.article.entry.entry_key for p in pending]
    lookups = {"hashes": hashes, "source_id": source_id, "entry_keys": keys,
               "urls": [c for c in canonicals if c]}
    # Everything that identifies each entry: its content hash, entry key and canonical URL.
    identities = [{content, key} | ({canonical} if canonical else set())
                  for content, key, canonical in zip(hashes, keys, canonicals, strict=True)]
    known = known_identities(session, {**lookups, "stones": []})
    if TOMBSTONES_EXIST in known:
        # Only then the tombstone keys (two sha256s per entry) and a second lookup with them.
        # Without tombstones the first statement's answer is the whole answer: on SQLite the
        # transaction (BEGIN IMMEDIATE) holds the write lock, and on PostgreSQL the emptiness
        # and the other lookups are read by one statement, as the single lookup read them.
        # Within the chunk a stone says nothing more than the entry key or URL it is made of.
        for mine, key, canonical in zip(identities, keys, canonicals, strict=True):
            mine.add(dedup.entry_stone(source_id, key))
            if canonical:
                mine.add(dedup.url_stone(canonical))
        known = known_identities(session, {**lookups, "stones": list(set().union(*identities))})
    fresh: list[int] = []
    seen: set[str] = set()
    for index, mine in enumerate(identities):
        if not mine & known and not mine & seen:
            fresh.append(index)
        seen |= mine
    return fresh


def _insert_new(
    session: Session, source_id: int, source_url: str, pending: Sequence[Pending],
    canonicals: Sequence[str | None], fresh: Sequence[int], policy: dedup.DedupPolicy, now: datetime,
) -> dict[int, repo.Stored]:
    sql = statements(session)
    fingerprints = {i: dedup.fingerprint_for(pending[i].article, policy) for i in fresh}
    rows = []
    for i in fresh:
        article = pending[i].article
        rows.append({
            "public_id": repo.public_id_for(source_url, article.entry.entry_key), "created_at": now,
            "canonical_url": canonicals[i], "minhash": neardup.pack(fingerprints[i].sketch),
            "cluster_id": None, "content_source": None, **repo.article_values(article, now),
        })
    inserted = insert_new_articles(session, rows)
    ids = {i: inserted[pending[i].article.content_hash] for i in fresh
           if pending[i].article.content_hash in inserted}  # the rest lost a race: one by one
    if not ids:
        return {}
    insert_first_versions(session, {ids[i]: pending[i].article.content_hash for i in ids}, now)
    banded = {ids[i]: fingerprints[i] for i in ids if fingerprints[i].bands}
    related = _with_candidates(session, banded, policy)
    insert_bands_of_new_articles(session, {article_id: f.bands for article_id, f in banded.items()})
    clusters = {article_id: dedup.cluster_new_article(session, article_id, banded[article_id], policy, now)
                for article_id in related}
    execute_many(session, sql.insert_new_sighting, [
        {"article_id": ids[i], "source_id": source_id, "entry_key": pending[i].article.entry.entry_key,
         "url": pending[i].article.entry.link, "raw_hash": pending[i].raw_hash, "first_seen_at": now,
         "last_seen_at": now} for i in ids])
    return {i: repo.Stored(article_id=ids[i], created=True, outcome="new", cluster_id=clusters.get(ids[i]))
            for i in ids}


def _with_candidates(
    session: Session, banded: dict[int, dedup.Fingerprint], policy: dedup.DedupPolicy,
) -> list[int]:
    """The new articles that may have a near duplicate, in order: one sharing a band with a
    stored article (one query for the whole chunk finds those bands), or verified against an
    earlier article of the chunk. Only these are clustered, one by one with fresh reads, like
    store_article does; for a chunk of distinct stories that is none."""
    if not banded:
        return []
    hashes = [b for f in banded.values() for b in f.bands]
    dedup.lock_bands(session, hashes)
    # Two articles can share a (band, hash) pair only if a hash value repeats somewhere in the
    # chunk; for a chunk of distinct stories none does, and the pairs are never built.
    sharers = _sharing_a_band(banded) if len(set(hashes)) < len(hashes) else {}
    stored = dedup.bands_in_store(session, [f.bands for f in banded.values()])
    related = []
    for article_id, fingerprint in banded.items():
        earlier = [other for other in sharers.get(article_id, ()) if other < article_id]
        if (stored and not stored.isdisjoint(enumerate(fingerprint.bands))) or any(
                fingerprint.near_duplicate_of(banded[other].sketch, banded[other].text, policy)
                for other in earlier):
            related.append(article_id)
    return related


Pair = tuple[int, int]  # (band number, band hash)


def _sharing_a_band(banded: dict[int, dedup.Fingerprint]) -> dict[int, set[int]]:
    """For each article of the chunk, the others with one of its (band, hash) pairs. Most
    chunks have no such pair at all (the caller then skips this): only shared pairs are indexed."""
    pairs_of = {article_id: list(enumerate(f.bands)) for article_id, f in banded.items()}
    every = [pair for pairs in pairs_of.values() for pair in pairs]
    shared = {pair for pair, count in Counter(every).items() if count > 1}
    holders: dict[Pair, list[int]] = defaultdict(list)
    for article_id, pairs in pairs_of.items():
        for pair in shared.intersection(pairs):
            holders[pair].append(article_id)
    sharers: dict[int, set[int]] = defaultdict(set)
    for ids in holders.values():
        for article_id in ids:
            sharers[article_id].update(ids)
    return sharers
