"""Rows as a table that fits the terminal, as CSV, or as one JSON array.

Cells hold stored text (headlines, ids, reasons), so they are drawn as plain text: rich never
reads ``[bold]`` as markup or ``:x:`` as an emoji code in them, and control characters become
spaces. A table fits ``width`` without splitting a word; when even one word per column cannot fit,
each row is shown as ``column  value`` lines instead.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

MIN_WIDTH = 80
"""The narrowest table drawn; a narrower terminal wraps it."""
PIPE_WIDTH = 200
"""The width of a table written to something that is not a terminal (and COLUMNS is unset)."""
MAX_CELL_WIDTH = 80
"""Longer cells (headlines, reasons) wrap at this width, or at their longest word if that is longer."""
NO_VALUE = "-"
"""A missing value (a mover without baseline documents) in a table; CSV leaves the field empty."""
GAP = 2
"""Spaces between two columns."""


def terminal_width() -> int:
    """``COLUMNS``, else the width of the terminal on stdout or stderr, else ``PIPE_WIDTH``; at least ``MIN_WIDTH``."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit():
        return max(MIN_WIDTH, int(columns))
    for stream in (sys.stdout, sys.stderr):
        try:
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            continue
    return PIPE_WIDTH


def render(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str] = (), width: int | None = None) -> str:
    """Rows as a terminal table (``width`` columns, default the terminal's), CSV with its header, or a JSON array."""
    names = list(rows[0]) if rows else list(columns)
    if fmt == "json":
        return json.dumps([dict(row) for row in rows], default=str)
    if fmt == "csv":
        out = io.StringIO()
        if names:
            writer = csv.DictWriter(out, fieldnames=names)
            writer.writeheader()
            writer.writerows({k: "" if v is None else _cell(v) for k, v in row.items()} for row in rows)
        return out.getvalue().rstrip("\n")
    if not rows:
        return "(no rows)"
    return draw_table(names, [[_table_cell(row[name]) for name in names] for row in rows], width or terminal_width())


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list | tuple):
        return "; ".join(map(str, value))
    return str(value)


def _table_cell(value: Any) -> str:
    text = NO_VALUE if value is None else _cell(value)
    return "".join(char if char.isprintable() else " " for char in text)


def draw_table(headers: list[str], cells: list[list[str]], width: int) -> str:
    """``cells`` under ``headers`` in at most ``width`` columns, words whole (or as records if they cannot be)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    columns = [[header, *(row[index] for row in cells)] for index, header in enumerate(headers)]
    widths = column_widths(columns, width)
    if widths is None:
        return _records(headers, cells, width)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, show_edge=False, pad_edge=False)
    for header, column_width in zip(headers, widths, strict=True):
        table.add_column(Text(header), width=column_width, overflow="fold")
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    return _plain(table, width)


def column_widths(columns: list[list[str]], width: int) -> list[int] | None:
    """Each column's width so that the table fits ``width`` and no word is split; None if that cannot be.

    A column gets its longest cell (capped at ``MAX_CELL_WIDTH``) when everything fits; otherwise
    every column gets its longest word and the room left goes to the columns that want more.
    """
    from rich.cells import cell_len

    room = width - GAP * (len(columns) - 1)
    shortest = [max(cell_len(word) for cell in column for word in [*cell.split(), ""]) for column in columns]
    longest = [
        max(low, min(MAX_CELL_WIDTH, max(cell_len(cell) for cell in column)))
        for low, column in zip(shortest, columns, strict=True)
    ]
    if sum(shortest) > room:
        return None
    widths = list(shortest)
    spare = room - sum(widths)
    wants = [high - low for low, high in zip(shortest, longest, strict=True)]
    total_want = sum(wants)
    if total_want <= spare:
        return longest
    for index, want in enumerate(wants):
        widths[index] += want * spare // total_want
    return widths


def _records(headers: list[str], cells: list[list[str]], width: int) -> str:
    """One ``column  value`` block per row, for rows whose words cannot fit side by side."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, GAP, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for number, row in enumerate(cells):
        if number:
            grid.add_row("", "")
        for header, cell in zip(headers, row, strict=True):
            grid.add_row(Text(header), Text(cell))
    return _plain(grid, width)


def _plain(renderable: Any, width: int) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), markup=False, emoji=False, highlight=False)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text().rstrip().splitlines())
