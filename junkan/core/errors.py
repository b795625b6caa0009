"""A user's mistake on the command line: one line on stderr and an exit code, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Raised by a command for a wrong argument, a missing file, an unknown id (``code`` 1 = not found)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
