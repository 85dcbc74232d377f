"""`feedwash articles show|delete`: one article's provenance, versions and cluster, as text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from worker.storage import dedup, repo
from worker.storage.models import Article, Cluster


def describe(session: Session, article_id: int) -> list[str] | None:
    """Lines describing the article, or None if there is no such article."""
    article = session.get(Article, article_id)
    if article is None:
        return None
    lines = [
        f"article {article.id}: {article.title}",
        f"  link:          {article.link or '-'}",
        f"  canonical url: {article.canonical_url or '-'}",
        f"  content hash:  {article.content_hash}",
        f"  published:     {_when(article.published_at)}   updated: {_when(article.updated_at)}",
        "sightings:",
    ]
    for sighting, source in repo.sightings_of(session, [article_id])[article_id]:
        lines.append(f"  source {source.id} ({source.title or source.url}) entry {sighting.entry_key}")
        lines.append(f"    url {sighting.url or '-'}  first seen {_when(sighting.first_seen_at)}"
                     f"  last seen {_when(sighting.last_seen_at)}")
    lines.append("versions:")
    for version in dedup.versions_of(session, article_id):
        ratio = "-" if version.diff_ratio is None else f"{version.diff_ratio:.3f}"
        lines.append(f"  v{version.version} {_when(version.created_at)} {version.reason:<8} "
                     f"ratio {ratio} {'bumped' if version.bumped else 'not bumped'} {version.content_hash}")
    lines += _cluster_lines(session, article)
    return lines


def _cluster_lines(session: Session, article: Article) -> list[str]:
    if article.cluster_id is None:
        return ["cluster: none (no near duplicates)"]
    cluster = session.get(Cluster, article.cluster_id)
    rep = cluster.representative_id if cluster else None
    lines = [f"cluster {article.cluster_id} (representative: article {rep}):"]
    for member in dedup.cluster_members(session, [article.cluster_id])[article.cluster_id]:
        marks = ("*" if member.id == rep else " ") + (">" if member.id == article.id else " ")
        lines.append(f"  {marks} article {member.id}: {member.title}  {member.link or ''}")
    return lines


def reindex(now: datetime, batch: int = 200) -> tuple[int, int]:
    """Fingerprint every article stored without one (before migration 0002_dedup, or cleared by
    a new sketch version's migration such as 0004_minhash_m2), in batches of one transaction
    each; `feedwash db upgrade` runs it. Returns (articles indexed, of which joined a cluster)."""
    from worker.storage.db import transaction

    policy = dedup.DedupPolicy.from_settings()
    done = joined = 0
    while True:
        with transaction() as session:
            ids = dedup.unindexed_article_ids(session, batch)
            for article_id in ids:
                joined += dedup.backfill_article(session, article_id, policy, now) is not None
        done += len(ids)
        if len(ids) < batch:
            return done, joined


def delete(session: Session, article_id: int, now: datetime) -> bool:
    return dedup.delete_article(session, article_id, now)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"
