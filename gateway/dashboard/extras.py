"""What the lot, alarms and unmatched pages show beyond the store's own rows: lineage, conformance, the
identification queue, balance alarms. Direct calls into the gateway's evidence features: a failure is a
failure of the page (logged by the server), never hidden as "not available"; a lot without a process
graph is not a failure and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from fastapi import FastAPI
from starlette.routing import Match

from gateway.composition.ident_repo import list_matches, match_pending
from gateway.composition.rows import IdentMatchRow
from gateway.evidence.build import build_evidence
from gateway.specs.conformance import conformance as conformance_of
from gateway.specs.lab import latest
from gateway.specs.lab_repo import confirmations
from gateway.specs.repo import list_specs
from gateway.specs.screening import ScreeningSettings
from gateway.store.base import Store
from gateway.store.rows import LotRow
from gateway.traceability.lineage import LineageError, backward
from gateway.traceability.rows import AlarmRow
from junkan.core.evidence import ConformanceResult, Evidence, Lineage, ModelContribution, Reason
from junkan.core.measurement_model import readable_measurement

EVIDENCE_ROUTE = "/api/v1/lots/{lot_id}/evidence"
RESOLVE_ROUTE = "/api/v1/composition/identifications/{agent}/{msg_id}/{idx}/resolve"


def has_route(app: FastAPI, template: str, method: str = "GET") -> bool:
    """Would ``method template`` reach a route? Asked through the router's own matching (``Route.matches``),
    so it holds whatever way routers were included."""
    path = re.sub(r"\{idx\}", "0", template)
    path = re.sub(r"\{[a-z_]+\}", "probe", path)
    scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": [], "query_string": b""}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


def unmatched(store: Store, limit: int = 500) -> list[IdentMatchRow]:
    db = store.db
    match_pending(db, store)  # new idents / newly imported records
    return list_matches(db, status="unmatched", limit=limit)


def balance_alarms(store: Store) -> list[AlarmRow]:
    return cast(list[AlarmRow], store.db.rows("SELECT * FROM balance_alarms WHERE cleared_at IS NULL "
                                              "ORDER BY raised_at DESC LIMIT 200", (), ("detail",)))


@dataclass(frozen=True)
class LotLineage:
    """A lot's backward lineage (its steps carry the flows the graph draws), or why it has none."""

    walked: Lineage | None
    error: str | None = None
    error_code: Reason | None = None  # ``error`` as a code: a data error of the graph in the page's language

    @property
    def models(self) -> list[ModelContribution]:
        return self.walked.models if self.walked is not None else []


def lineage(store: Store, lot_id: str) -> LotLineage:
    """The backward lineage; ``error`` when the lot has none (no step, intake or stored lot: nothing to draw)."""
    try:
        return LotLineage(backward(store.db, lot_id, store))
    except LineageError as exc:
        return LotLineage(None, str(exc)[:200], exc.reason)


def conformance(store: Store, lot: LotRow) -> list[ConformanceResult]:
    """The lot's conformance to every stored buyer spec."""
    measurement = readable_measurement(lot.get("measurement"))
    today = datetime.now(UTC).date()
    lab = latest(confirmations(store.db, lot["lot_id"]))  # PBDE/PBB from the lab first, as the evidence does
    return [conformance_of(spec, measurement, today, lab) for spec in list_specs(store.db)]


def screened(store: Store, lot_id: str, settings: ScreeningSettings) -> Evidence:
    """The lot's evidence without buyer specs: what its screening, identification checks and claims say."""
    return build_evidence(store, store.db, lot_id, specs=[], screening=settings)
