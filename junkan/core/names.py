"""Name and id patterns, defined once.

``NAME`` is what can stand in an MQTT topic segment and a mosquitto password/ACL file (sites, lines,
agents, devices, users): no ``:``, no ``/``, no ``+``/``#``, at most 64 characters. ``ID`` is what
identifies a document (lots, specs, records): it may contain ``:`` (URN-like ids) and be 128 long.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"

NAME_RE = re.compile(NAME_PATTERN)
ID_RE = re.compile(ID_PATTERN)

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Id = Annotated[str, Field(pattern=ID_PATTERN)]


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME_RE.match(value) is not None
