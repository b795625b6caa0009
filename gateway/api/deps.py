"""Dependencies handed to route handlers (FastAPI ``Annotated`` aliases); state lives on ``app.state``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Request
from pydantic import BeforeValidator

from gateway.settings import GatewaySettings
from gateway.store.base import Store
from junkan.core.strict import iso_only

MAX_OFFSET = 10_000_000  # paging bound: larger offsets are refused (422), not passed to the database
# A query timestamp: ISO text only (pydantic would read "0.5" or "1700000000" as a Unix time).
Timestamp = Annotated[datetime, BeforeValidator(iso_only)]


class CommandSink(Protocol):
    """Publishes a lot command to a line's agents (the consumer); returns it as sent (``models.CommandSent``)."""

    def send_command(self, line: str, action: str, lot_id: str | None, issued_by: str | None
                     ) -> Mapping[str, object]: ...


def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_commands(request: Request) -> CommandSink | None:
    return request.app.state.commands  # type: ignore[no-any-return]


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
CommandsDep = Annotated[CommandSink | None, Depends(get_commands)]
