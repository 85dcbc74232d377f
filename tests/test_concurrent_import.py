"""Two processes import the same folder at the same moment: one article per post, on both
databases, because uniqueness lives in the database (insert-or-ignore + upserts)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import SEED_FILE
from worker.storage.db import transaction
from worker.storage.models import Article, SeedFile, Sighting

POSTS = 40


def _make_posts(folder: Path) -> None:
    folder.mkdir()
    template = SEED_FILE.read_text()
    for i in range(POSTS):
        text = template.replace("北京市多措并举推动消费帮扶工作取得新成效", f"第{i}篇：消费帮扶")
        text = text.replace("246亿元", f"{1000 + i}亿元")
        (folder / f"post_{i:03}.txt").write_text(text)


def test_two_processes_import_one_folder(database_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    _make_posts(folder)
    env = {**os.environ, "FEEDWASH_DATABASE_URL": database_url,
           "FEEDWASH_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "worker.cli", "seeds", "import", str(folder)]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    with transaction() as session:
        articles = session.execute(select(func.count(Article.id))).scalar_one()
        sightings = session.execute(select(func.count(Sighting.id))).scalar_one()
        files = session.execute(select(func.count(SeedFile.id))).scalar_one()
    assert (articles, sightings, files) == (POSTS, POSTS, POSTS)
