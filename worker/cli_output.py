"""The CLI's consoles. What the commands print is data that scripts read, so in a pipe (where
rich assumes 80 columns) lines are never wrapped, `[...]` in a URL is never read as markup, and a
table gets the width its cells need instead of cutting every URL to `http:/…`. Tab-separated
lines go through typer.echo: rich expands tabs to spaces."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def print_table(table: Table) -> None:
    if out.is_terminal:
        out.print(table)  # fits the window
    else:
        Console(file=out.file, width=1_000_000, markup=False, highlight=False).print(table)
