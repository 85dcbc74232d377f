"""The CI version of benchmarks/soak.py: 200 sources for 15 seconds, two real workers and beat
over a private Redis, a throwaway PostgreSQL database. Asserts what must hold at any scale
(every source polled once, failures recorded, nothing duplicated, workers under the memory
bound); the figures themselves are in docs/reliability.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_short_soak(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    completed = subprocess.run(
        [sys.executable, "benchmarks/soak.py", "--sources", "200", "--minutes", "0.25",
         "--sample-seconds", "3", "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stderr[-3000:]
    summary = json.loads(out.read_text())["summary"]
    # 1 in 10 generator feeds fails on purpose; the rest serve 5 items each.
    assert summary["outcomes"] == {"ok": 180, "error": 20}
    assert summary["articles"] == 180 * 5
    assert summary["worker_rss_mb_max"] < 300
