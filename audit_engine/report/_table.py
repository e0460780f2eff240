"""Plain fixed-width tables for the terminal: measured once, fitted to a width.

Every cell is made safe (:func:`._text.one_line`) before it is measured. Columns marked
``wrap`` hold free text (messages, titles) and are the only ones wrapped, at spaces,
when the table is wider than ``width``; ids, severities and numbers are never broken,
even if the line then runs past the width. Colour is ANSI, added after measuring, and
only when asked for (the CLI asks when it writes to a terminal).

A cell is a string, or ``(string, style)`` with a style of :data:`._text.ANSI`. A row of
``None`` is a blank line (a group separator). Linear in the number of cells: a table of
22,000 findings renders in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

from ._text import one_line, paint

Cell = Union[str, tuple[str, str | None]]
GAP = "  "
MIN_WRAP = 16  # a wrapped column is never narrower than this


@dataclass(frozen=True)
class Column:
    name: str
    align: str = "left"  # "left" or "right"
    wrap: bool = False  # free text: wrapped to fit; other columns are never wrapped


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap at spaces; only a word longer than the whole column is cut."""
    if len(text) <= width:
        return [text]
    lines: list[str] = []
    cur = ""
    for word in text.split(" "):
        while len(word) > width:
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(word[:width])
            word = word[width:]
        if not cur:
            cur = word
        elif len(cur) + 1 + len(word) <= width:
            cur += " " + word
        else:
            lines.append(cur)
            cur = word
    if cur or not lines:
        lines.append(cur)
    return lines


def _fit(columns: Sequence[Column], natural: list[int], width: int) -> list[int]:
    """Column widths: natural ones, with the wrapped columns shrunk to fit ``width``."""
    total = sum(natural) + len(GAP) * (len(columns) - 1)
    flexible = [i for i, c in enumerate(columns) if c.wrap and natural[i] > MIN_WRAP]
    if total <= width or not flexible:
        return natural
    fixed = total - sum(natural[i] for i in flexible)
    room = max(width - fixed, MIN_WRAP * len(flexible))
    want = sum(natural[i] for i in flexible)
    out = list(natural)
    for i in flexible:  # shares in proportion to what each would like
        out[i] = max(MIN_WRAP, min(natural[i], room * natural[i] // want))
    spare = room - sum(out[i] for i in flexible)
    for i in flexible:  # rounding leftovers to the first columns that can use them
        extra = min(spare, natural[i] - out[i])
        out[i] += extra
        spare -= extra
    return out


def render(columns: Sequence[Column], rows: Sequence[Sequence[Cell] | None], width: int = 100,
           color: bool = False) -> list[str]:
    """The table as lines (no trailing newline): header, rule, rows."""
    n = len(columns)
    text: list[list[str] | None] = []
    styles: list[list[str | None] | None] = []
    natural = [len(c.name) for c in columns]
    for row in rows:
        if row is None:
            text.append(None)
            styles.append(None)
            continue
        cells, marks = [], []
        for i, cell in enumerate(row):
            s, style = (cell if isinstance(cell, tuple) else (cell, None))
            s = one_line(s)
            cells.append(s)
            marks.append(style)
            if len(s) > natural[i]:
                natural[i] = len(s)
        text.append(cells)
        styles.append(marks)
    widths = _fit(columns, natural, width)
    last = n - 1

    def line(cells: Sequence[str], marks: Sequence[str | None]) -> str:
        parts = []
        for i, s in enumerate(cells):
            pad = widths[i] - len(s)
            shown = paint(s, marks[i], color) if marks[i] else s
            if columns[i].align == "right":
                parts.append(" " * pad + shown)
            else:
                parts.append(shown if i == last else shown + " " * pad)
        return GAP.join(parts).rstrip()

    none: list[str | None] = [None] * n
    out = [paint(line([c.name for c in columns], none).rstrip(), "bold", color),
           GAP.join("-" * w for w in widths)]
    wrapped = [i for i, c in enumerate(columns) if c.wrap]
    for cells, marks in zip(text, styles):
        if cells is None or marks is None:
            out.append("")
            continue
        if not wrapped or all(len(cells[i]) <= widths[i] for i in wrapped):
            out.append(line(cells, marks))
            continue
        parts = {i: wrap(cells[i], widths[i]) for i in wrapped}
        height = max(len(p) for p in parts.values())
        for k in range(height):
            row_k = [(parts[i][k] if k < len(parts[i]) else "") if i in parts else (cells[i] if k == 0 else "")
                     for i in range(n)]
            out.append(line(row_k, marks if k == 0 else none))
    return out
