"""Writing result files: atomically, and as tables (CSV + Markdown). Figures: rnnscope.figures.

The ground floor of the package: it imports no other ``rnnscope`` module, so editing a module
that writes results does not rerun the rules of every other module that writes results. It
imports no matplotlib either, so reading states or labels in a notebook leaves its backend alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def partial_path(path: str | Path) -> Path:
    """``<path>.partial``: where a file is written before it is renamed to ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> None:
    """Call ``write(partial_path)`` then rename, so a killed run never leaves a finished-looking file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(path)
    write(partial)
    partial.replace(path)


def write_text_atomically(path: str | Path, text: str) -> None:
    """``text`` as UTF-8 at ``path``, written atomically."""
    write_atomically(path, lambda partial: partial.write_text(text, encoding="utf-8"))


def write_table(table: pd.DataFrame, csv_path: str | Path, caption: str, markdown: str | None = None) -> None:
    """CSV for machines, Markdown beside it for people, both saying where the numbers come from.

    ``markdown`` replaces the default Markdown body (the whole table) when given."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(csv_path, index=False)
    body = table.to_markdown(index=False, floatfmt=".4g") if markdown is None else markdown
    csv_path.with_suffix(".md").write_text(f"{caption}\n\n{body}\n")
