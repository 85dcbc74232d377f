"""Regression tests for the bugs the hostile-input and fuzzing work found (docs/reliability.md
"Bugs found")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from worker import ingest
from worker.core.clean import clean_html
from worker.core.pipeline import clean_entry
from worker.core.types import ParsedEntry
from worker.core.urls import web_url
from worker.limits import bounded_entry
from worker.storage import repo
from worker.storage.db import transaction
from worker.storage.models import Article, IngestError, SeedFile

BODY = "<p>An article body with enough words in it to stand on its own as an article.</p>"


def entry(**fields: object) -> ParsedEntry:
    values: dict[str, object] = {"entry_key": "id:1", "title": "t", "link": "https://a.example/1",
                                 "html": BODY}
    values.update(fields)
    return ParsedEntry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("url, kept", [
    ("https://a.example/x", True), ("http://a.example/x", True), ("javascript:alert(1)", False),
    (" JavaScript:alert(1)", False), ("data:text/html,<script>", False), ("vbscript:x", False),
    ("//a.example/x", False), ("http://[::1", False), ("", False), (None, False),
])
def test_only_http_links_are_republished(url: str | None, kept: bool) -> None:
    assert (web_url(url) == url) is kept if url else web_url(url) is None
    article = clean_entry(entry(link=url, lead_image=url), [])
    assert (article.entry.link is not None) is kept and (article.entry.lead_image is not None) is kept


def test_embed_does_not_swallow_the_rest_of_the_article() -> None:
    cleaned = clean_html("<p>before</p><embed src=x><p>after, the rest of the article</p>")
    assert cleaned.html == "<p>before</p><p>after, the rest of the article</p>"
    assert cleaned.removed == {"generic: embed": 1}


def test_control_characters_are_stripped_by_the_cleaner() -> None:
    assert clean_html("\x08").html == ""
    assert clean_html("<p>a\x08b\x00c\x1fd</p>").html == "<p>abcd</p>"


def test_a_future_date_is_treated_as_missing(database_url: str) -> None:
    now = datetime.now(UTC)
    with transaction() as session:
        source = repo.ensure_source(session, "feed", "https://a.example/feed", now)
        for key, published in (("far", datetime(9999, 12, 31, tzinfo=UTC)),
                                ("skewed", now + timedelta(hours=3))):
            article = clean_entry(entry(entry_key=key, title=key, html=f"<p>{key}</p>{BODY}",
                                        published=published, updated=published), [])
            repo.store_article(session, source, "https://a.example/feed", article, key, now)
    with transaction() as session:
        stored = {a.title: a for a in session.execute(select(Article)).scalars()}
    assert stored["far"].published_at == now and stored["far"].updated_at == now
    assert stored["skewed"].published_at == now + timedelta(hours=3)  # within a day: clock skew


def test_an_oversized_entry_is_cut_before_cleaning() -> None:
    big = entry(html="<p>" + "x" * 50 + "</p>")
    assert bounded_entry(big, 100) == (big, None)
    cut, warning = bounded_entry(big, 20)
    assert len(cut.html) == 20 and warning == "entry id:1: content of 57 characters cut to 20 before cleaning"


def test_an_oversized_entry_in_a_poll_is_cut_and_recorded(
    sqlite_url: str, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEEDWASH_ENTRY_MAX_CHARS", "1000")
    from worker.settings import get_settings

    get_settings.cache_clear()
    html = "<p>" + "word " * 1000 + "</p>"
    httpserver.expect_request("/f.rss").respond_with_data(
        f"<rss version='2.0'><channel><title>t</title><item><title>big</title><guid>big</guid>"
        f"<description><![CDATA[{html}]]></description></item></channel></rss>",
        content_type="application/rss+xml")
    with transaction() as session:
        source = repo.ensure_source(session, "feed", httpserver.url_for("/f.rss"), ingest.utcnow())
    assert ingest.poll_source(source).new == 1
    with transaction() as session:
        article = session.execute(select(Article)).scalar_one()
        errors = [e.message for e in session.execute(select(IngestError)).scalars()]
    assert len(article.text) < 1000
    assert errors == [f"{httpserver.url_for('/f.rss')}: entry id:big: content of {len(html)} characters "
                      "cut to 1000 before cleaning"]


def test_a_seed_file_over_the_limit_is_an_error_and_never_read(sqlite_url: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDWASH_SEED_MAX_BYTES", "1000")
    from worker.settings import get_settings

    get_settings.cache_clear()
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "big.md").write_bytes(b"---\ntitle: big\n---\n" + b"<p>x</p>" * 200)
    report = ingest.import_seeds(folder)
    assert report.errors == ["big.md: too large (1619 bytes, limit 1000)"]
    with transaction() as session:
        seed_file = session.execute(select(SeedFile)).scalar_one()
    assert (seed_file.status, seed_file.size) == ("error", 1619)
    assert ingest.import_seeds(folder).unchanged == 1  # not retried until the file changes


@pytest.mark.parametrize("reference", ["&#xD800;", "&#xdfff;", "&#55296;", "&#x110000;",
                                       "&#99999999999999999999;"])
def test_an_invalid_character_reference_does_not_crash_the_feed_parser(reference: str) -> None:
    from worker.core.feed import parse_feed

    feed = (f'<rss version="2.0"><channel><title>t{reference}</title><item><title>a</title><guid>a</guid>'
            f"<description>body {reference} {BODY}</description></item></channel></rss>").encode()
    parsed = parse_feed(feed, "https://a.example/feed")
    assert parsed.title == "t\ufffd" and len(parsed.entries) == 1


def test_elements_emptied_by_the_sanitiser_are_dropped() -> None:
    assert clean_html("<p><font><p>words here</p>").html == "<p>words here</p>"
