"""One name for a decoded JSON object whose shape is checked somewhere else.

Used for documents an external standard defines (EPCIS, UNTP JSON-LD, OpenAPI, JWS headers: their official
JSON Schemas check them in the tests) and for JSON columns read back from the store before a model validates
them. Domain data the project owns has a model of its own (``junkan.core.measurement_model``, ``evidence``).
"""

from __future__ import annotations

from typing import Any, TypeAlias

JsonObject: TypeAlias = dict[str, Any]
