"""Saving figures: one style of file (PNG at one resolution, and an SVG beside it) and one
headless backend for every plotting module. Like rnnscope.artifacts it imports no other module.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

# Files only, never a window: the pipeline runs headless (Slurm nodes, CI). use() switches the
# backend even after pyplot is imported, so a plotting module need not import this module first;
# each imports it for save_figure, so Agg is set before any figure is drawn.
matplotlib.use("Agg")

PNG_DPI = 130  # every PNG of the pipeline: figure inches x 130 pixels


def save_figure(figure: Figure, png_path: str | Path, svg: bool = True, bbox_inches: str | None = None) -> None:
    """``png_path`` at ``PNG_DPI`` and, when ``svg``, the same figure as ``png_path`` with suffix .svg;
    then close the figure. ``bbox_inches`` is passed to ``savefig`` (seaborn's grids save "tight")."""
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png_path, dpi=PNG_DPI, bbox_inches=bbox_inches)
    if svg:
        figure.savefig(png_path.with_suffix(".svg"), bbox_inches=bbox_inches)
    plt.close(figure)
