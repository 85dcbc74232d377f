"""The web app's feeds, parsed back with feedparser and checked field by field; and the CLI's
export, which must be the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import SEED_FILE
from worker import ingest
from worker.cli import app as cli
from worker.web.app import app

client = TestClient(app)


def _import_seed(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "000.txt").write_bytes(SEED_FILE.read_bytes())
    ingest.import_seeds(folder)


def test_healthz(sqlite_url: str) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


def test_atom_and_rss_carry_the_cleaned_seed(database_url: str, tmp_path: Path) -> None:
    _import_seed(tmp_path)
    for fmt, media_type in (("atom", "application/atom+xml"), ("rss", "application/rss+xml")):
        response = client.get(f"/feeds/all.{fmt}")
        assert response.status_code == 200
        assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
        parsed = feedparser.parse(response.content, sanitize_html=False)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert len(parsed.entries) == 1
        entry = parsed.entries[0]
        assert entry.title == "北京市多措并举推动消费帮扶工作取得新成效"
        assert entry.id.startswith("tag:feedwash.local,2026:article:")
        assert entry.link.startswith("http://feedwash.test/articles/")
        assert entry.published_parsed[:6] == (2022, 2, 22, 3, 1, 31)
        assert entry.author == "新浪财经"
        assert [t.term for t in entry.tags] == ["金融", "新浪财经", "新浪财经－国內"]
        html = entry.content[0].value if fmt == "atom" else entry.description
        assert html.startswith("<p>2021年，北京市深化落实") and "责任编辑" not in html
        # The seed's only image is Sina's app-download QR code: a placeholder, never a lead image.
        assert "media_thumbnail" not in entry


def test_json_feed_and_etag(sqlite_url: str, tmp_path: Path) -> None:
    _import_seed(tmp_path)
    response = client.get("/feeds/all.json")
    assert response.headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    item = feed["items"][0]
    assert item["title"] == "北京市多措并举推动消费帮扶工作取得新成效"
    assert item["_feedwash"]["content_hash"].startswith("v2:")
    assert item["_feedwash"]["sources"][0]["url"] is None
    again = client.get("/feeds/all.json", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_export_is_the_served_bytes(sqlite_url: str, tmp_path: Path) -> None:
    _import_seed(tmp_path)
    runner = CliRunner()
    for fmt in ("atom", "rss", "json"):
        exported = runner.invoke(cli, ["export", "--format", fmt]).stdout_bytes
        assert exported == client.get(f"/feeds/all.{fmt}").content
    assert json.loads(runner.invoke(cli, ["export", "--format", "json", "--limit", "1"]).stdout_bytes)


def test_article_page_and_index(sqlite_url: str, tmp_path: Path) -> None:
    _import_seed(tmp_path)
    index = client.get("/")
    assert 'rel="alternate" type="application/atom+xml"' in index.text
    assert "/articles/1" in index.text
    page = client.get("/articles/1")
    assert page.status_code == 200 and "强化组织领导" in page.text
    assert client.get("/articles/999").status_code == 404


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in (["db", "upgrade"], ["seeds", "import"], ["feeds", "add"], ["feeds", "list"],
                    ["feeds", "remove"], ["poll"], ["export"], ["serve"], ["run"], ["worker"],
                    ["beat"]):
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_export_views_are_the_served_bytes_of_the_same_query(sqlite_url: str, tmp_path: Path) -> None:
    """`export --limit N --all` is the document served at `?limit=N&all=true`, self link included
    (it used to name the unfiltered head while carrying the view's id)."""
    _import_seed(tmp_path)
    runner = CliRunner()
    for fmt in ("atom", "rss", "json"):
        for args, query in ((["--limit", "1"], "limit=1"), (["--all"], "all=true"),
                            (["--limit", "1", "--all"], "limit=1&all=true")):
            exported = runner.invoke(cli, ["export", "--format", fmt, *args]).stdout_bytes
            assert exported == client.get(f"/feeds/all.{fmt}?{query}").content, (fmt, query)


def test_export_refuses_a_limit_the_web_app_refuses(sqlite_url: str, tmp_path: Path) -> None:
    _import_seed(tmp_path)
    assert client.get("/feeds/all.atom?limit=0").status_code == 422
    for limit in ("0", "-3"):
        assert CliRunner().invoke(cli, ["export", "--limit", limit]).exit_code == 2


def test_the_unfolded_view_is_a_feed_of_its_own(sqlite_url: str, tmp_path: Path) -> None:
    """`?all=true` lists other items than the folded views: it must not share their feed id."""
    _import_seed(tmp_path)
    ids = {query: feedparser.parse(client.get(f"/feeds/all.atom?{query}").content).feed.id
           for query in ("limit=5", "all=true", "all=true&limit=5")}
    assert ids["all=true"] == ids["all=true&limit=5"]  # the limit is not the feed's identity
    assert ids["all=true"] != ids["limit=5"]
