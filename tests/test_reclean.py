"""Re-cleaning over stored raw bodies (SQLite and PostgreSQL), `feedwash explain`, and
`feedwash rules test`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.conftest import FIXTURES, ROOT, SEED_FILE
from worker import ingest, reclean
from worker.cli import app as cli
from worker.storage.db import transaction
from worker.storage.models import Article, IngestError

runner = CliRunner()


def _seeds(tmp_path: Path, *files: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for file in files:
        shutil.copy(file, folder / file.name)
    return folder


def _rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped rules that a test may change, as a user would."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "config" / "rules", rules)
    monkeypatch.setenv("FEEDWASH_RULES_DIR", str(rules))
    from worker.settings import get_settings
    get_settings.cache_clear()
    return rules


def _article() -> Article:
    with transaction() as session:
        article = session.execute(select(Article)).scalar_one()
        session.expunge(article)
        return article


def test_import_stores_raw_body_and_derived_fields(database_url: str, tmp_path: Path) -> None:
    ingest.import_seeds(_seeds(tmp_path, SEED_FILE))
    article = _article()
    assert article.raw_html is not None and "appendQr" in article.raw_html
    assert article.language == "zh" and article.reading_length > 1500
    assert article.lead_image is None  # the seed's headimg is the QR placeholder
    assert article.provenance is not None
    editor = article.provenance["removed"]["sina-finance: remove p.article-editor"]
    assert editor["sample"].startswith("责任编辑：")


def test_reclean_unchanged_touches_nothing(database_url: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _rules_dir(tmp_path, monkeypatch)
    ingest.import_seeds(_seeds(tmp_path, SEED_FILE))
    before = _article()
    report = reclean.reclean_all()
    assert (report.updated, report.unchanged, report.skipped) == (0, 1, [])
    after = _article()
    assert after.updated_at == before.updated_at and after.html == before.html
    assert reclean.reclean_all().unchanged == 1  # idempotent: again, nothing


def test_reclean_applies_a_changed_rule(database_url: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _rules_dir(tmp_path, monkeypatch)
    ingest.import_seeds(_seeds(tmp_path, SEED_FILE))
    before = _article()
    assert "强化组织领导" in before.text
    (rules / "headings.yaml").write_text(
        "name: no-headings\nmatch: {categories: [新浪财经]}\n"
        "remove: ['font[cms-style*=strong-Bold]']\n", "utf-8")
    assert reclean.reclean_article(before.id) == "updated"
    after = _article()
    assert "强化组织领导" not in after.text and after.content_hash != before.content_hash
    assert after.updated_at > before.updated_at
    assert after.public_id == before.public_id  # the same article, corrected
    assert after.provenance is not None and "no-headings" in after.provenance["site_rules"]
    assert reclean.reclean_article(before.id) == "unchanged"


def test_reclean_leaves_a_hash_conflict_recorded(database_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _rules_dir(tmp_path, monkeypatch)
    ingest.import_seeds(_seeds(tmp_path, SEED_FILE))
    article = _article()
    # Another article already holds the hash this one's re-cleaning will produce.
    with transaction() as session:
        session.execute(update(Article).where(Article.id == article.id).values(
            content_hash="v1:stale", html="<p>old</p>"))
        session.add(Article(public_id="other", content_hash=article.content_hash, title="t",
                            categories=[], html="", text="", summary="", cleaner_version="2",
                            removed={}, published_at=article.published_at,
                            updated_at=article.updated_at, created_at=article.updated_at))
    outcome = reclean.reclean_article(article.id)
    assert "has the content hash of article" in outcome
    with transaction() as session:
        kept = session.get(Article, article.id)
        assert kept is not None and kept.content_hash == "v1:stale" and kept.html == "<p>old</p>"
        errors = session.execute(select(IngestError.ref, IngestError.message)).all()
    assert [ref for ref, _ in errors] == [f"article:{article.id}"]


def test_cli_reclean_and_explain(database_url: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _rules_dir(tmp_path, monkeypatch)
    ingest.import_seeds(_seeds(tmp_path, SEED_FILE))
    result = runner.invoke(cli, ["reclean", "--source", "1"])
    assert result.exit_code == 0, result.output
    assert "0 updated, 1 unchanged, 0 skipped" in result.output
    article = _article()
    result = runner.invoke(cli, ["explain", str(article.id)])
    assert result.exit_code == 0, result.output
    assert "cleaner version 2; site rules: sina-finance, common" in result.output
    assert "sina-finance: remove p.article-editor  | 责任编辑：" in result.output
    assert "generic: style  | .appendQr_wrap" in result.output
    assert runner.invoke(cli, ["explain", "999"]).exit_code == 1


def test_cli_rules_test_shows_before_and_after() -> None:
    result = runner.invoke(cli, ["rules", "test", str(ROOT / "config" / "rules" / "sina-finance.yaml"),
                                 str(FIXTURES / "posts" / "sina_ai_basketball_referee.md")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "rules in file: sina-finance; matching sina_ai_basketball_referee.md: sina-finance"
    assert "    1  sina-finance: remove p.article-editor  | 责任编辑：刘玄逸" in lines
    assert "-海量资讯、精准解读，尽在新浪财经APP" in lines and "-责任编辑：刘玄逸" in lines


def test_cli_rules_test_on_bare_html(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text("name: strip-alt\nmatch: {domains: [x.example]}\nattributes:\n"
                     "  - {select: img, drop: [alt], when: '^s_'}\ndrop_text: ['^广告']\n", "utf-8")
    sample = tmp_path / "a.html"
    sample.write_text('<p>正文</p><p>广告：下载APP</p><img src="https://x.example/1.jpg" alt="s_1">',
                      "utf-8")
    result = runner.invoke(cli, ["rules", "test", str(rules), str(sample)])
    assert result.exit_code == 0, result.output
    assert "strip-alt: attribute alt of img  | alt=\"s_1\"" in result.output
    assert "-广告：下载APP" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nremove: ['p[']\n", "utf-8")
    result = runner.invoke(cli, ["rules", "test", str(bad), str(sample)])
    assert result.exit_code == 2 and "bad CSS selector" in result.output


def test_reclean_celery_task_runs_in_process(sqlite_url: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.tasks import reclean_article

    _rules_dir(tmp_path, monkeypatch)
    ingest.import_seeds(_seeds(tmp_path, SEED_FILE))
    assert reclean_article.apply(args=[_article().id]).get() == "unchanged"
    assert "not found" in reclean_article.apply(args=[999]).get()
