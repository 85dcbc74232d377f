"""The core imports no I/O library: proven in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "httpx", "celery", "kombu", "redis", "psycopg", "fastapi", "uvicorn",
             "worker.storage", "worker.fetch", "worker.tasks", "worker.settings")


def test_core_imports_no_io_library() -> None:
    code = (
        "import json, sys, pkgutil, importlib, worker.core\n"
        "for m in pkgutil.iter_modules(worker.core.__path__):\n"
        "    importlib.import_module('worker.core.' + m.name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True,
                                       capture_output=True, text=True).stdout)
    leaked = [m for m in loaded if m.split(".")[0] in FORBIDDEN or m in FORBIDDEN
              or any(m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaked == []
