"""Logging set-up shared by every pipeline script."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def configure_logging(log_path: str | Path | None = None, level: int = logging.INFO) -> logging.Logger:
    """Log to ``log_path`` (Snakemake's ``log:`` file) and to stderr, with timestamps."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger("rnnscope")

    def log_uncaught(exc_type, exc, traceback) -> None:  # type: ignore[no-untyped-def]
        # Snakemake shows the log file of a failed job: put the traceback there too.
        logger.critical("failed: %s", exc, exc_info=(exc_type, exc, traceback))

    sys.excepthook = log_uncaught
    return logger
