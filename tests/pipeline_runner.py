"""Runs the real pipeline in its own process so a test can measure it: polls every feed source
once (worker.ingest.poll_source, exactly what the poll task runs) or imports a seed folder
(worker.ingest.import_seeds), then prints one JSON line with the outcomes, the wall time and
the process's peak RSS (VmHWM).

    python -m tests.pipeline_runner poll [--pretend-public 127.0.0.2]
    python -m tests.pipeline_runner seeds DIR

--pretend-public: with the SSRF guard on, treat this one loopback address as a public host (the
test's stand-in for "the internet", so that a redirect from a public host to a private one can
be tried end-to-end without leaving loopback). Nothing else about the guard changes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def poll_all() -> list[dict[str, Any]]:
    from worker import ingest

    outcomes = []
    for source_id in ingest.due_source_ids(force=True):
        started = time.perf_counter()
        report = ingest.poll_source(source_id)
        outcomes.append({"url": report.url, "status": report.status, "new": report.new,
                         "duplicates": report.duplicates, "errors": report.errors,
                         "seconds": round(time.perf_counter() - started, 2)})
    return outcomes


def import_folder(folder: Path) -> dict[str, Any]:
    from worker import ingest

    report = ingest.import_seeds(folder)
    return {"imported": report.imported, "duplicates": report.duplicates, "errors": report.errors}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["poll", "seeds"])
    parser.add_argument("folder", nargs="?", type=Path)
    parser.add_argument("--pretend-public", default=None)
    args = parser.parse_args()
    if args.pretend_public:
        from worker import netguard

        real = netguard.refusal_reason
        netguard.refusal_reason = lambda address: (  # type: ignore[assignment]
            None if str(address) == args.pretend_public else real(address))
    started = time.perf_counter()
    result: Any = poll_all() if args.what == "poll" else import_folder(args.folder)
    print(json.dumps({"result": result, "seconds": round(time.perf_counter() - started, 2),
                      "peak_rss_kb": peak_rss_kb()}))


if __name__ == "__main__":
    main()
