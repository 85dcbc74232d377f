"""Progress of long CLI work: a rich progress bar on a terminal, plain lines otherwise (logs,
pipes, CI), so a cron mail or a log file is not filled with bar redraws."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TextIO, TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")


def plain_lines(items: Sequence[T], label: str, stream: TextIO, every: int) -> Iterator[T]:
    """One line every `every` items and one at the end: `label: 200/1529`."""
    total = len(items)
    for done, item in enumerate(items, 1):
        yield item
        if done % every == 0 or done == total:
            print(f"{label}: {done}/{total}", file=stream, flush=True)


def rich_bar(items: Sequence[T], label: str, stream: TextIO) -> Iterator[T]:
    from rich.console import Console

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(file=stream), transient=False) as progress:
        task = progress.add_task(label, total=len(items))
        for item in items:
            yield item
            progress.advance(task)


def tracker(
    label: str, stream: TextIO | None = None, every: int = 100
) -> Callable[[Sequence[T]], Iterable[T]]:
    """A wrapper for a list of work items that reports progress on `stream` (stderr)."""
    out = stream or sys.stderr

    def track(items: Sequence[T]) -> Iterable[T]:
        if not items:
            return items
        if out.isatty():
            return rich_bar(items, label, out)
        return plain_lines(items, label, out, every)

    return track
