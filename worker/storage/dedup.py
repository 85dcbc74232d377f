"""Dedup storage: versions, canonical-URL matches, LSH bands and clusters, tombstones.

repo.store_article calls into this module; every function runs inside the caller's transaction.
Races between workers are settled by the database: unique keys for exact identities, and for
near duplicates a transaction-scoped lock per LSH band hash (PostgreSQL advisory locks; SQLite
already serialises writers with BEGIN IMMEDIATE), so two near duplicates stored at the same
moment still meet each other and end in one cluster.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from worker.core import neardup
from worker.core.changes import measure_change
from worker.core.nfkc import NfkcForm
from worker.core.types import CleanArticle
from worker.settings import Settings, get_settings
from worker.storage.models import (
    Article,
    ArticleVersion,
    Cluster,
    Sighting,
    Tombstone,
)
from worker.storage.statements import (
    BANDS_OF_ARTICLES,
    CANDIDATES,
    EXISTING,
    PG_BANDS_IN_STORE,
    PG_LOCK_BANDS,
    SKETCHES_OF_ARTICLES,
    SQLITE_BANDS_IN_STORE,
    SQLITE_DELETE_BAND_ROW,
    insert_band_rows,
    pg_int_array,
    statements,
)
from worker.storage.upsert import insert_for

log = logging.getLogger(__name__)
DEADLOCK_DETECTED = "40P01"
MAX_CANDIDATES = 64  # band matches verified per article; more means a template, not a story
CANONICAL_MIN_SIMILARITY = 0.3  # same URL but unrelated text: a listing page, not a correction


@dataclass(frozen=True)
class DedupPolicy:
    near: neardup.NearDupSettings
    representative: str  # "earliest" | "longest"
    trivial_ratio: float
    trivial_max_chars: int
    max_updates_per_day: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DedupPolicy:
        s = settings or get_settings()
        return cls(
            near=neardup.NearDupSettings(
                threshold=s.neardup_threshold, min_chars=s.neardup_min_chars,
                containment=s.neardup_containment,
                containment_min_jaccard=s.neardup_containment_min_jaccard,
                containment_min_shingles=s.neardup_containment_min_shingles),
            representative=s.cluster_representative, trivial_ratio=s.update_trivial_ratio,
            trivial_max_chars=s.update_trivial_max_chars, max_updates_per_day=s.update_max_per_day,
        )


@dataclass(frozen=True)
class Fingerprint:
    """What near-duplicate detection keeps of an article's text."""

    sketch: neardup.Sketch
    bands: tuple[int, ...]  # empty when the text is too short to be evidence
    text: str  # for the exact check of borderline estimates (neardup.are_near_duplicate_texts)

    @classmethod
    def of(cls, text_: str, policy: DedupPolicy, form: NfkcForm | None = None) -> Fingerprint:
        """`form`: the text's NFKC form if already computed (CleanArticle.nfkc_form)."""
        sketch, bands = neardup.sketch_and_bands(text_, policy.near, form)
        return cls(sketch, bands, text_)

    def near_duplicate_of(self, other: neardup.Sketch, other_text: str, policy: DedupPolicy) -> bool:
        return neardup.are_near_duplicate_texts(other, self.sketch, other_text, self.text, policy.near)


# ---- tombstones ------------------------------------------------------------------------------

def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _entry_detail(source_id: int, entry_key: str) -> str:
    return f"source {source_id} entry {entry_key}"


def entry_stone(source_id: int, entry_key: str) -> str:
    """The tombstone key of a source's entry."""
    return _key(_entry_detail(source_id, entry_key))


def url_stone(canonical: str) -> str:
    """The tombstone key of a canonical URL."""
    return _key(canonical)


@dataclass(frozen=True)
class Existing:
    """What the database already holds for an entry about to be stored."""

    tombstoned: bool  # its content, entry or canonical URL was deleted by an operator
    previous: int | None  # the article this source's entry points at
    by_hash: int | None  # the article with this exact content
    at_canonical: int | None  # some article at its canonical URL (a version candidate)


def existing_for(
    session: Session, content_hash: str, source_id: int, entry_key: str, canonical: str | None
) -> Existing:
    """One round trip for the four lookups every stored entry needs."""
    row = session.execute(EXISTING, {
        "content_hash": content_hash, "entry_key": entry_key, "source_id": source_id,
        "entry_stone": entry_stone(source_id, entry_key),
        "canonical_stone": url_stone(canonical) if canonical else None, "canonical": canonical,
    }).one()
    return Existing(row[0] is not None, row[1], row[2], row[3])


def delete_article(session: Session, article_id: int, now: datetime) -> bool:
    """Delete an article and leave tombstones (content hash, every entry key, canonical URL)
    so that no later poll or import brings it back."""
    article = session.get(Article, article_id)
    if article is None:
        return False
    stones = [("content_hash", article.content_hash, article.content_hash)]
    if article.canonical_url:
        stones.append(("canonical_url", url_stone(article.canonical_url), article.canonical_url))
    hashes = session.execute(
        select(ArticleVersion.content_hash).where(ArticleVersion.article_id == article_id)
    ).scalars()
    stones += [("content_hash", h, h) for h in set(hashes) if h != article.content_hash]
    for source_id, entry_key in session.execute(
        select(Sighting.source_id, Sighting.entry_key).where(Sighting.article_id == article_id)
    ):
        stones.append(("entry", entry_stone(source_id, entry_key), _entry_detail(source_id, entry_key)))
    for kind, key, detail in stones:
        session.execute(insert_for(session, Tombstone).values(
            kind=kind, key=key, detail=detail, article_id=article_id, deleted_at=now,
        ).on_conflict_do_nothing(index_elements=["kind", "key"]))
    cluster_id = article.cluster_id
    delete_bands_of(session, [article_id])
    session.execute(delete(Article).where(Article.id == article_id))
    if cluster_id is not None:
        _settle_cluster(session, cluster_id, get_settings().cluster_representative, now)
    return True


# ---- canonical URL ---------------------------------------------------------------------------

_BY_CANONICAL_URL = (
    select(Article.__table__.c.id, Article.__table__.c.minhash, Article.__table__.c.title)
    .where(Article.__table__.c.canonical_url == bindparam("canonical"))
    .order_by(Article.__table__.c.id).limit(20)
)

def article_by_canonical_url(
    session: Session, canonical: str | None, fingerprint: Fingerprint, title: str
) -> int | None:
    """The stored article at this canonical URL that the new content is a version of.

    Two different articles cannot share a canonical URL, but many feeds point every item at a
    listing page; so the URL counts only when the texts are related (or, for bodies too short
    to compare, the titles are the same)."""
    if not canonical:
        return None
    rows = session.execute(_BY_CANONICAL_URL, {"canonical": canonical}).all()
    for article_id, packed, stored_title in rows:
        stored = neardup.unpack(packed).signature
        related = neardup.similarity(stored, fingerprint.sketch.signature) >= CANONICAL_MIN_SIMILARITY
        if (related and fingerprint.bands) or stored_title == title:
            return int(article_id)
    return None


# ---- versions --------------------------------------------------------------------------------

def record_first_version(session: Session, article_id: int, content_hash: str, now: datetime) -> None:
    session.execute(statements(session).insert_first_version, {
        "article_id": article_id, "version": 1, "content_hash": content_hash, "diff_ratio": None,
        "bumped": True, "reason": "new", "created_at": now})


@dataclass(frozen=True)
class UpdateDecision:
    ratio: float
    bump: bool  # readers see it as updated (`updated` moves)
    reason: str  # update | trivial | capped


def decide_update(
    session: Session, article_id: int, old_text: str, new_text: str, now: datetime,
    policy: DedupPolicy,
) -> UpdateDecision:
    """Trivial edits never bump; real ones bump at most `max_updates_per_day` times a day (a feed
    that rewrites its items on every poll would otherwise keep them permanently "updated").
    reader (lemon24) caps consecutive hash-only changes at 24 and then stops storing them; here
    the content is always stored and only the `updated` bump is capped."""
    change = measure_change(old_text, new_text)
    ratio = change.ratio
    if change.is_trivial(policy.trivial_ratio, policy.trivial_max_chars):
        return UpdateDecision(ratio, False, "trivial")
    bumps = session.execute(
        select(func.count(ArticleVersion.id)).where(
            ArticleVersion.article_id == article_id, ArticleVersion.bumped.is_(True),
            ArticleVersion.reason == "update", ArticleVersion.created_at > now - timedelta(days=1),
        )
    ).scalar_one()
    if bumps >= policy.max_updates_per_day:
        return UpdateDecision(ratio, False, "capped")
    return UpdateDecision(ratio, True, "update")


def record_version(
    session: Session, article_id: int, content_hash: str, decision: UpdateDecision, now: datetime
) -> None:
    latest = session.execute(
        select(func.max(ArticleVersion.version)).where(ArticleVersion.article_id == article_id)
    ).scalar_one()
    session.add(ArticleVersion(
        article_id=article_id, version=(latest or 0) + 1, content_hash=content_hash,
        diff_ratio=round(decision.ratio, 4), bumped=decision.bump, reason=decision.reason,
        created_at=now,
    ))


def old_text_of(session: Session, article_id: int) -> tuple[str, datetime]:
    row = session.execute(
        select(Article.text, Article.updated_at).where(Article.id == article_id)
    ).one()
    return row[0], row[1]


# ---- near duplicates -------------------------------------------------------------------------

def index_article(
    session: Session, article_id: int, fingerprint: Fingerprint, policy: DedupPolicy, now: datetime,
    *, fresh: bool = False,
) -> int | None:
    """Store the article's bands and put it in the cluster of its near duplicates (if any).
    Returns its cluster id. `fresh`: the row was just inserted with its MinHash and has no
    bands yet, so there is nothing to overwrite."""
    sql = statements(session)
    if not fresh:
        delete_bands_of(session, [article_id])  # before the sketch they are computed from changes
        packed = neardup.pack(fingerprint.sketch)
        session.execute(sql.set_minhash, {"article_id": article_id, "minhash": packed})
    if not fingerprint.bands:
        return None
    lock_bands(session, fingerprint.bands)
    matches = _near_duplicates(session, article_id, fingerprint, policy)
    insert_band_rows(session, [(band, value, article_id) for band, value in enumerate(fingerprint.bands)])
    if not matches:
        return None
    return _join_cluster(session, article_id, matches, policy, now)


def delete_bands_of(session: Session, article_ids: Sequence[int]) -> None:
    """Delete these articles' band rows: before an article is deleted, or its sketch replaced.

    PostgreSQL finds them by ix_article_bands_article (its foreign key would cascade too).
    SQLite has neither (migration 0007: they cost 0.020 ms per article stored), so the rows
    are deleted by their key: the bands of an article are a function of its stored sketch
    (dedup writes the two together, and no other code writes either). An article whose sketch
    is missing or of another signature version may still have rows of another band function
    (an older worker writing during an upgrade), so those articles' rows are looked for in the
    whole table: one scan for all of them, and only until the reindex at upgrade sketches them."""
    if not article_ids:
        return
    if session.get_bind().dialect.name != "sqlite":
        session.execute(BANDS_OF_ARTICLES, {"article_ids": list(article_ids)})
        return
    keys: list[tuple[int, int, int]] = []
    unsketched: list[int] = []
    for article_id, packed in session.execute(SKETCHES_OF_ARTICLES, {"article_ids": list(article_ids)}):
        signature = neardup.unpack(packed).signature
        if not signature:
            unsketched.append(article_id)
            continue
        keys += [(band, value, article_id) for band, value in enumerate(neardup.band_hashes(signature))]
    if keys:
        session.connection().exec_driver_sql(SQLITE_DELETE_BAND_ROW, keys)
    if unsketched:
        session.execute(BANDS_OF_ARTICLES, {"article_ids": unsketched})


def cluster_new_article(
    session: Session, article_id: int, fingerprint: Fingerprint, policy: DedupPolicy, now: datetime
) -> int | None:
    """For an article whose bands are stored already (worker/storage/bulk.py): join the cluster
    of its near duplicates, if it has any. Returns its cluster id."""
    matches = _near_duplicates(session, article_id, fingerprint, policy)
    return _join_cluster(session, article_id, matches, policy, now) if matches else None


def bands_in_store(session: Session, band_lists: Sequence[Sequence[int]]) -> set[tuple[int, int]]:
    """Which (band, hash) pairs of these band lists (neardup.NUM_BANDS hashes each, in band
    order) some stored article has: one index probe per pair, at most one row per pair however
    many articles share it (a wire story reprinted by hundreds of feeds must not return hundreds
    of rows per band)."""
    if not band_lists:
        return set()
    if session.get_bind().dialect.name == "postgresql":  # arrays: one statement text, one plan
        pairs = {pair for bands in band_lists for pair in enumerate(bands)}
        arrays = {"bands": pg_int_array(b for b, _ in pairs), "hashes": pg_int_array(h for _, h in pairs)}
        rows = session.execute(PG_BANDS_IN_STORE, arrays)
    else:  # one JSON array of the hashes, band = position modulo the band count
        if any(len(bands) != neardup.NUM_BANDS for bands in band_lists):
            raise ValueError(f"band lists must have {neardup.NUM_BANDS} hashes each")
        hashes = json.dumps([value for bands in band_lists for value in bands])
        rows = session.execute(SQLITE_BANDS_IN_STORE, {"hashes": hashes, "width": neardup.NUM_BANDS})
    return {(int(band), int(value)) for band, value in rows}


def lock_bands(session: Session, bands: Sequence[int]) -> None:
    """Serialise writers whose articles share a band: the second one waits, then sees the
    first one's committed bands. Sorted, so two writers never wait on each other in a cycle."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already holds the database's single write lock
    # A poll stores many articles in one transaction, so two polls can each hold bands the
    # other needs next (story X then a reprint of Y, against Y then a reprint of X): PostgreSQL
    # then aborts one lock wait. Inside a savepoint that costs only this article's lock (its
    # near-duplicate lookup may miss the other poll's uncommitted reprint), never the poll.
    try:
        with session.begin_nested():
            session.execute(PG_LOCK_BANDS, {"keys": pg_int_array(sorted(set(bands)))})
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != DEADLOCK_DETECTED:
            raise
        log.warning("near-duplicate lock: deadlock with another writer, indexing without the lock")


def _near_duplicates(
    session: Session, article_id: int, fingerprint: Fingerprint, policy: DedupPolicy
) -> list[tuple[int, int | None]]:
    """(article id, cluster id) of stored articles whose estimated similarity passes."""
    params: dict[str, Any] = {f"h{band}": value for band, value in enumerate(fingerprint.bands)}
    rows = session.execute(CANDIDATES, {**params, "article_id": article_id, "limit": MAX_CANDIDATES}).all()
    return [
        (int(row_id), cluster_id) for row_id, cluster_id, packed, stored_text in rows
        if fingerprint.near_duplicate_of(neardup.unpack(packed), stored_text, policy)
    ]


def _join_cluster(
    session: Session, article_id: int, matches: Sequence[tuple[int, int | None]],
    policy: DedupPolicy, now: datetime,
) -> int:
    clusters = sorted({c for _, c in matches if c is not None})
    if clusters:
        target = clusters[0]
    else:
        cluster = Cluster(representative_id=None, created_at=now, updated_at=now)
        session.add(cluster)
        session.flush()
        target = cluster.id
    # Only rows not yet in the target: rewriting every match's row on every reprint bloated
    # PostgreSQL's articles table to 142 MB per 1,000 articles in the soak (docs/reliability.md).
    members = [article_id, *(a for a, c in matches if c != target)]
    session.execute(update(Article).where(Article.id.in_(members)).values(cluster_id=target))
    if len(clusters) > 1:  # the new article bridges clusters: they are one story
        others = clusters[1:]
        session.execute(update(Article).where(Article.cluster_id.in_(others)).values(cluster_id=target))
        session.execute(delete(Cluster).where(Cluster.id.in_(others)))
    if len(clusters) != 1 or not _challenge_representative(session, target, members, policy, now):
        _settle_cluster(session, target, policy.representative, now)
    return target


def _challenge_representative(
    session: Session, cluster_id: int, newcomers: Sequence[int], policy: DedupPolicy, now: datetime
) -> bool:
    """Members joining one existing cluster: only they can displace its representative, so
    compare them with it instead of re-ranking the whole cluster (which sorted every member of
    a story reprinted thousands of times, on every reprint). False: no representative to
    compare with, settle the cluster instead."""
    current = session.execute(
        select(Cluster.representative_id).where(Cluster.id == cluster_id)).scalar_one_or_none()
    if current is None:
        return False
    rows = session.execute(
        select(Article.id, Article.published_at, func.length(Article.text))
        .where(Article.id.in_([current, *newcomers]))
    ).all()
    if not any(row[0] == current for row in rows):
        return False

    def rank(row: Any) -> tuple[Any, ...]:
        article_id, published_at, length = row
        order = (published_at, article_id)
        return (-(length or 0), *order) if policy.representative == "longest" else order

    best = min(rows, key=rank)[0]
    values: dict[str, Any] = {"updated_at": now}
    if best != current:
        values["representative_id"] = best
    session.execute(update(Cluster).where(Cluster.id == cluster_id).values(**values))
    return True


def settle_clusters(session: Session, cluster_ids: Sequence[int], now: datetime) -> None:
    """After members were deleted elsewhere (a removed source): re-pick or dissolve."""
    for cluster_id in cluster_ids:
        _settle_cluster(session, cluster_id, get_settings().cluster_representative, now)


def _settle_cluster(session: Session, cluster_id: int, representative: str, now: datetime) -> None:
    """Re-pick the representative; a cluster left with one member dissolves."""
    order: list[Any] = [Article.published_at, Article.id]
    if representative == "longest":
        order = [func.length(Article.text).desc(), *order]
    # The first two are all it takes (the representative, and whether the cluster still is one):
    # a story reprinted thousands of times must not cost thousands of rows per new reprint.
    members = session.execute(
        select(Article.id).where(Article.cluster_id == cluster_id).order_by(*order).limit(2)
    ).scalars().all()
    if len(members) < 2:
        session.execute(update(Article).where(Article.cluster_id == cluster_id).values(cluster_id=None))
        session.execute(delete(Cluster).where(Cluster.id == cluster_id))
        return
    session.execute(update(Cluster).where(Cluster.id == cluster_id).values(
        representative_id=members[0], updated_at=now))


def unindexed_article_ids(session: Session, limit: int) -> list[int]:
    """Articles without a sketch of the current version: stored before dedup existed, cleared
    by a sketch version's migration, or written by a worker still running older code while the
    database was upgraded (a sketch of another version is compared with nothing)."""
    header = neardup.SKETCH_HEADER
    stale = func.substr(Article.minhash, 1, len(header)) != header
    query = select(Article.id).where(or_(Article.minhash.is_(None), stale)).order_by(Article.id).limit(limit)
    return list(session.execute(query).scalars())


def backfill_article(session: Session, article_id: int, policy: DedupPolicy, now: datetime) -> int | None:
    """Fingerprint, band and cluster one stored article; give it version 1 if it has none."""
    row = session.execute(
        select(Article.text, Article.content_hash).where(Article.id == article_id)).one()
    has_version = session.execute(
        select(ArticleVersion.id).where(ArticleVersion.article_id == article_id).limit(1)).first()
    if has_version is None:
        record_first_version(session, article_id, row.content_hash, now)
    return index_article(session, article_id, Fingerprint.of(row.text, policy), policy, now)


# ---- reads -----------------------------------------------------------------------------------

def cluster_members(session: Session, cluster_ids: Sequence[int]) -> dict[int, list[Article]]:
    found: dict[int, list[Article]] = {c: [] for c in cluster_ids}
    if not cluster_ids:
        return found
    rows = session.execute(
        select(Article).where(Article.cluster_id.in_(cluster_ids)).order_by(Article.published_at, Article.id)
    ).scalars()
    for article in rows:
        if article.cluster_id is not None:
            found[article.cluster_id].append(article)
    return found


def representatives(session: Session, cluster_ids: Sequence[int]) -> dict[int, int]:
    if not cluster_ids:
        return {}
    rows = session.execute(select(Cluster.id, Cluster.representative_id).where(Cluster.id.in_(cluster_ids)))
    return {cid: rep for cid, rep in rows if rep is not None}


def versions_of(session: Session, article_id: int) -> Sequence[ArticleVersion]:
    return session.execute(
        select(ArticleVersion).where(ArticleVersion.article_id == article_id).order_by(ArticleVersion.version)
    ).scalars().all()


def fingerprint_for(article: CleanArticle, policy: DedupPolicy) -> Fingerprint:
    return Fingerprint.of(article.text, policy, article.nfkc_form)
