"""Ingest processes freeze their start-up objects and collect young garbage less often."""

from __future__ import annotations

import subprocess
import sys

from worker.gctuning import INGEST_THRESHOLDS

PROBE = """
import gc
from worker.gctuning import tune_for_ingest
tune_for_ingest()
print(gc.get_threshold(), gc.get_freeze_count() > 1000)
"""


def test_tune_for_ingest_freezes_start_up_objects_and_raises_thresholds() -> None:
    # In child processes: freezing the test runner's own heap would outlive the test.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0] == f"{INGEST_THRESHOLDS} True"


def test_celery_worker_and_its_pool_processes_tune_the_collector() -> None:
    for handler in ("_before_fork", "_after_fork"):  # the worker_init / worker_process_init receivers
        probe = f"import gc\nfrom worker import celery_app\ncelery_app.{handler}()\nprint(gc.get_threshold())"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
        assert out.strip() == str(INGEST_THRESHOLDS), handler
