"""Long CLI work reports progress: plain lines when not on a terminal, a rich bar on one."""

from __future__ import annotations

import io
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import FIXTURES, SEED_FILE
from worker.cli import app
from worker.progress import tracker


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal() -> None:
    stream = io.StringIO()
    assert list(tracker("importing", stream, every=2)(list(range(5)))) == [0, 1, 2, 3, 4]
    assert stream.getvalue().splitlines() == ["importing: 2/5", "importing: 4/5", "importing: 5/5"]


def test_a_bar_on_a_terminal() -> None:
    stream = FakeTerminal()
    assert list(tracker("importing", stream)(["a", "b", "c"])) == ["a", "b", "c"]
    output = stream.getvalue()
    assert "importing" in output and "3/3" in output and "━" in output


def test_seeds_import_prints_progress_lines(sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "000.txt").write_bytes(SEED_FILE.read_bytes())
    for post in sorted((FIXTURES / "posts").glob("*.md")):
        (folder / post.name).write_bytes(post.read_bytes())
    result = CliRunner().invoke(app, ["seeds", "import", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"importing {folder}: 3/3" in result.stderr
    assert "2 imported, 0 updated, 1 duplicates, 0 unchanged, 0 errors" in result.stdout
