"""Seed import through storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import FIXTURES, SEED_FILE
from worker import ingest
from worker.storage.db import transaction
from worker.storage.models import Article, IngestError, SeedFile, Sighting


def _seed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SEED_FILE, folder / "000.txt")
    shutil.copy(FIXTURES / "posts" / "sina_ai_basketball_referee.md", folder / "sub" / "ai.md")
    (folder / "empty.md").write_bytes(b"")
    (folder / "binary.md").write_bytes(b"\x00\x01\x02PNG")
    (folder / "gbk.md").write_bytes("---\ntitle: 北京\n---\n<p>正文</p>".encode("gbk"))
    (folder / "nofront.md").write_text("<p>only html</p>")
    (folder / "badyaml.md").write_text("---\ntitle: [oops\n---\n<p>x</p>")
    (folder / ".hidden.md").write_text("ignored")
    return folder


def _counts() -> tuple[int, int, int]:
    with transaction() as session:
        return (
            session.execute(select(func.count(Article.id))).scalar_one(),
            session.execute(select(func.count(Sighting.id))).scalar_one(),
            session.execute(select(func.count(IngestError.id))).scalar_one(),
        )


def test_good_files_import_and_bad_files_are_named(database_url: str, tmp_path: Path) -> None:
    report = ingest.import_seeds(_seed_folder(tmp_path))
    assert report.imported == 2
    assert sorted(e.split(":")[0] for e in report.errors) == [
        "badyaml.md", "binary.md", "empty.md", "gbk.md", "nofront.md"]
    assert _counts() == (2, 2, 5)
    with transaction() as session:
        titles = set(session.execute(select(Article.title)).scalars())
        errors = {e.ref: e.message for e in session.execute(select(IngestError)).scalars()}
    assert "北京市多措并举推动消费帮扶工作取得新成效" in titles
    assert errors["gbk.md"].startswith("gbk.md: not UTF-8")


def test_reimporting_an_unchanged_folder_changes_nothing(database_url: str, tmp_path: Path) -> None:
    folder = _seed_folder(tmp_path)
    ingest.import_seeds(folder)
    with transaction() as session:
        before = [(f.path, f.updated_at, f.status) for f in session.execute(
            select(SeedFile).order_by(SeedFile.path)).scalars()]
    report = ingest.import_seeds(folder)
    assert (report.imported, report.duplicates, report.errors, report.unchanged) == (0, 0, [], 7)
    assert _counts() == (2, 2, 5)
    with transaction() as session:
        after = [(f.path, f.updated_at, f.status) for f in session.execute(
            select(SeedFile).order_by(SeedFile.path)).scalars()]
    assert after == before


def test_same_post_in_two_files_is_one_article(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder / "a.txt")
    # Same article, other markup: indentation, line breaks and attributes differ.
    (folder / "b.txt").write_text(SEED_FILE.read_text().replace("　　", "").replace("</p>", "</p>\n\n"))
    report = ingest.import_seeds(folder)
    assert (report.imported, report.duplicates) == (1, 1)
    assert _counts()[:2] == (1, 2)


def test_a_changed_seed_updates_its_article(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    post = folder / "a.txt"
    shutil.copy(SEED_FILE, post)
    ingest.import_seeds(folder)
    # A one-character correction is stored but is trivial (issue 5): `updated` does not move.
    post.write_text(SEED_FILE.read_text().replace("取得了较好成效", "取得了很好成效"))
    report = ingest.import_seeds(folder)
    assert (report.imported, report.updated, report.duplicates, report.errors) == (0, 1, 0, [])
    with transaction() as session:
        articles = session.execute(select(Article)).scalars().all()
    assert len(articles) == 1
    assert "取得了很好成效" in articles[0].text
    assert articles[0].updated_at == articles[0].published_at
    # A real change (a new paragraph) is an update: same article, `updated` moves.
    post.write_text(SEED_FILE.read_text().replace(
        "取得了较好成效", "取得了很好成效</p><p>记者补充：新的一段内容说明了后续的政策安排和执行时间表。"))
    assert ingest.import_seeds(folder).errors == []
    with transaction() as session:
        articles = session.execute(select(Article)).scalars().all()
    assert len(articles) == 1
    assert "后续的政策安排" in articles[0].text
    assert articles[0].updated_at > articles[0].published_at


@pytest.mark.parametrize(("name", "value", "says"), [
    ("FEEDWASH_TIMEZONE", "Not/AZone", "unknown time zone 'Not/AZone'"),
    ("FEEDWASH_FEED_LIMIT", "fifty", "valid integer"),
])
def test_a_bad_setting_is_one_line_naming_the_variable(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    name: str, value: str, says: str,
) -> None:
    """A zone ZoneInfo does not know failed the import at its first naive date with a traceback
    (and every Celery seed task failed on it at each beat import); any bad setting is now a usage
    error up front."""
    from worker.cli import app
    from worker.settings import get_settings

    folder = tmp_path / "posts"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder / "seed.txt")
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as exited:
        app(["seeds", "import", str(folder)], prog_name="feedwash")
    assert exited.value.code == 2
    message = capsys.readouterr().err
    assert message.startswith(f"error: {name}: ") and says in message, message
