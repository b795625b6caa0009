"""Field types for documents callers send as JSON (API bodies, CLI files): what the JSON says, not coerced.

Why: pydantic's lax mode reads ``false`` as 0.0 kg, ``"3"`` as 3 items and ``0`` as 1970-01-01, so a
wrong document is stored instead of refused. Models using these set ``strict=True`` (a number must be a
number: an int is a float, a bool is neither; ``JsonInt`` where JSON's 41.0 is an integer too) and take
timestamps as ISO 8601 text (JSON has no date type), never as a Unix time.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

STRICT = ConfigDict(extra="forbid", strict=True)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso_only(value: Any) -> Any:
    """ISO 8601 text (or an already parsed date/datetime) only; a number is refused, not read as Unix time."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _ISO.match(value):
        raise ValueError("an ISO 8601 date or date-time text is required (e.g. 2026-03-01T00:00:00Z)")
    return value


def number_only(value: Any) -> Any:
    """A JSON number (41 or 41.0), not a bool or text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number is required")
    return value


# An integer as JSON Schema has it: 41.0 is one (lax int takes it; 41.5 is still refused), true and "41" are not.
JsonInt = Annotated[int, Field(strict=False), BeforeValidator(number_only)]
IsoDatetime = Annotated[datetime, Field(strict=False), BeforeValidator(iso_only)]
IsoDate = Annotated[date, Field(strict=False), BeforeValidator(iso_only)]
