"""OPML 2.0 import/export with categories: the pure functions and the CLI round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from worker.cli import app
from worker.core.opml import OpmlFeed, parse_opml, render_opml
from worker.core.types import InputError
from worker.storage import repo
from worker.storage.db import transaction

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>mine</title></head>
  <body>
    <outline text="News">
      <outline text="China">
        <outline type="rss" text="Sina" title="Sina" xmlUrl="https://sina.example/rss"
                 category="/finance,tech"/>
      </outline>
      <outline type="rss" text="BBC" xmlUrl="https://bbc.example/rss" htmlUrl="https://bbc.example/"/>
    </outline>
    <outline type="rss" text="Blog" xmlUrl="https://blog.example/atom"/>
  </body>
</opml>"""


def test_parse_folders_and_category_attribute() -> None:
    assert parse_opml(OPML, "mine.opml") == [
        OpmlFeed("https://sina.example/rss", "Sina", ("News/China", "finance", "tech")),
        OpmlFeed("https://bbc.example/rss", "BBC", ("News",), "https://bbc.example/"),
        OpmlFeed("https://blog.example/atom", "Blog", ()),
    ]


def test_render_then_parse_is_identity() -> None:
    feeds = parse_opml(OPML, "mine.opml")
    again = parse_opml(render_opml(feeds, "t", datetime(2026, 1, 1, tzinfo=UTC)), "export")
    assert again == feeds


def test_an_untitled_feed_round_trips_untitled() -> None:
    """A source without a title is exported with text=URL (OPML needs a text); reading that back
    made the URL its title, so export -> import -> export added title="URL" to every feed that
    had never answered (found by an audit in session 5)."""
    feeds = [OpmlFeed("https://quiet.example/rss", None, ())]
    exported = render_opml(feeds, "t", datetime(2026, 1, 1, tzinfo=UTC))
    assert b'text="https://quiet.example/rss"' in exported
    assert parse_opml(exported, "export") == feeds


@pytest.mark.parametrize("data", [b"<html><body/></html>", b"not xml at all", b""])
def test_not_opml_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(InputError, match=r"bad\.opml: not an OPML file"):
        parse_opml(data, "bad.opml")


def test_external_entities_are_never_read() -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>')
    with pytest.raises(InputError, match=r"evil\.opml: not an OPML file") as raised:
        parse_opml(evil, "evil.opml")
    assert "root:" not in str(raised.value)


def test_cli_round_trip(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    source = tmp_path / "in.opml"
    source.write_bytes(OPML)
    result = runner.invoke(app, ["feeds", "import-opml", str(source)])
    assert result.exit_code == 0, result.output
    assert "3 feeds imported" in result.output and "3 new, 0 already there" in result.output
    with transaction() as session:
        stored = {s.url: (s.title, s.categories) for s in repo.list_sources(session, "feed")}
    assert stored["https://sina.example/rss"] == ("Sina", ["News/China", "finance", "tech"])
    assert stored["https://blog.example/atom"] == ("Blog", None)
    exported = runner.invoke(app, ["feeds", "export-opml"])
    assert exported.exit_code == 0
    feeds = parse_opml(exported.stdout_bytes, "export")
    assert {(f.url, f.title, f.categories) for f in feeds} == {
        ("https://sina.example/rss", "Sina", ("News/China", "finance", "tech")),
        ("https://bbc.example/rss", "BBC", ("News",)),
        ("https://blog.example/atom", "Blog", ()),
    }
    # Importing the export again adds nothing and keeps the categories.
    (tmp_path / "again.opml").write_bytes(exported.stdout_bytes)
    again = runner.invoke(app, ["feeds", "import-opml", str(tmp_path / "again.opml")])
    assert again.exit_code == 0 and "0 new, 3 already there" in again.output
    with transaction() as session:
        assert len(repo.list_sources(session, "feed")) == 3
