"""Operator actions on a line: open or close its lot (sent to the line's agents as MQTT commands)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from gateway.api.deps import CommandsDep
from gateway.api.models import CommandSent, Error
from gateway.auth import PrincipalDep
from junkan.core.ids import new_id
from junkan.core.names import ID_PATTERN
from junkan.core.strict import STRICT

router = APIRouter(prefix="/api/v1/lines", tags=["lines"])


class LotAction(BaseModel):
    model_config = STRICT

    action: Literal["open", "close"] = Field(description="Open a new lot or close the open one.")
    lot_id: str | None = Field(default=None, pattern=ID_PATTERN,
                               description="Lot id; generated for 'open' when omitted.")


@router.post("/{line}/lots", status_code=202, summary="Open or close the lot on a line",
             responses={503: {"model": Error, "description": "This gateway runs without an MQTT connection."}})
def lot_action(line: str, body: LotAction, commands: CommandsDep, principal: PrincipalDep) -> CommandSent:
    if commands is None:
        raise HTTPException(status_code=503, detail="this gateway runs without an MQTT connection")
    lot_id = body.lot_id
    if body.action == "open" and lot_id is None:
        lot_id = f"{line}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{new_id()[-4:]}"
    try:
        return CommandSent.model_validate(commands.send_command(line, f"{body.action}_lot", lot_id,
                                                                issued_by=principal.name))
    except LookupError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
