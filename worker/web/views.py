"""What the HTML pages show, gathered in one transaction per page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from worker.core.slugs import category_slug
from worker.publish import feed_path
from worker.storage import feed_queries, repo
from worker.storage.feed_queries import SourceHealth
from worker.storage.models import Article, Sighting, Source


@dataclass(frozen=True)
class FeedLink:
    title: str
    path: str  # without the format suffix: add ".atom", ".rss" or ".json"


def output_feed_links(session: Session, health: list[SourceHealth]) -> list[FeedLink]:
    links = [FeedLink("All articles", feed_path("all", "", "x")[:-2])]
    seen: set[str] = set()
    for name in feed_queries.category_names(session):
        slug = category_slug(name)
        if slug and slug not in seen:
            seen.add(slug)
            links.append(FeedLink(f"Category: {name}", feed_path("category", slug, "x")[:-2]))
    for h in health:
        if h.articles:
            links.append(FeedLink(f"Source: {h.source.title or h.source.url}",
                                  feed_path("source", str(h.source.id), "x")[:-2]))
    return links


def index_context(session: Session, newest: int = 50) -> dict[str, Any]:
    health = feed_queries.source_health(session)
    return {
        "articles": repo.latest_articles(session, newest),
        "health": health,
        "output_feeds": output_feed_links(session, health),
        "article_count": repo.count_articles(session),
    }


def cluster_of(session: Session, article: Article) -> list[Article]:
    """Other articles telling the same story. Hook for near-duplicate clustering (issue 5):
    until clusters are stored, an article's cluster is itself and the page shows its sightings."""
    return []


def article_context(session: Session, article: Article) -> dict[str, Any]:
    sightings: list[tuple[Sighting, Source]] = repo.sightings_of(session, [article.id])[article.id]
    return {
        "article": article,
        "sightings": sightings,
        "cluster": cluster_of(session, article),
        "categories": [(name, feed_path("category", category_slug(name), "atom"))
                       for name in article.categories or () if category_slug(name)],
    }
