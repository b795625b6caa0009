"""One rich Console for command output: piped output keeps every table column.

Why: rich falls back to 80 columns when stdout is not a terminal, so `junkan sim score | less` or a CI log
cut columns and wrapped ids. Not on a terminal we give it a wide page instead (or ``$COLUMNS``).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console

PIPED_WIDTH = 200


def wide_console(file: TextIO | None = None) -> Console:
    """A Console for tables and lines of a command; wide (never wrapped at 80) when not on a terminal."""
    stream = file or sys.stdout
    if stream.isatty() or os.environ.get("COLUMNS"):
        return Console(file=file)
    return Console(file=file, width=PIPED_WIDTH, soft_wrap=True)
