"""Writing result files: atomically, as tables (CSV + Markdown) and as figures (PNG + SVG).

The ground floor of the package: it imports no other ``rnnscope`` module, so editing a module
that writes results does not rerun the rules of every other module that writes results.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

# Files only, never a window: the pipeline runs headless (Slurm nodes, CI). use() switches the
# backend even after pyplot is imported, so a plotting module need not import this module first;
# each imports it for save_figure, so Agg is set before any figure is drawn.
matplotlib.use("Agg")


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


def save_figure(
    figure: Figure, png_path: str | Path, dpi: int, svg: bool = True, bbox_inches: str | None = None
) -> None:
    """``png_path`` at ``dpi`` and, when ``svg``, the same figure as ``png_path`` with suffix .svg;
    then close the figure. ``bbox_inches`` is passed to ``savefig`` (seaborn's grids save "tight")."""
    import matplotlib.pyplot as plt

    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=dpi, bbox_inches=bbox_inches)
    if svg:
        figure.savefig(png_path.with_suffix(".svg"), bbox_inches=bbox_inches)
    plt.close(figure)
