"""The only code that walks seed folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SeedFileStat:
    path: str  # relative to the seeds folder, with "/" separators: the file's identity
    size: int
    mtime_ns: int


def walk_seeds(folder: Path) -> Iterator[SeedFileStat]:
    """Every regular, non-hidden file under `folder`, sorted for a reproducible order."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = Path(root, name)
            try:
                stat = full.stat()
            except OSError:
                continue  # vanished between listing and stat
            yield SeedFileStat(full.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns)
