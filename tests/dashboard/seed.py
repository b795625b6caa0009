"""Seed a gateway store through its real write path (validate -> commit_batch), for auth and page tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.ingest.validate import validate
from gateway.store.base import Incoming
from junkan.core.ids import new_id
from junkan.core.messages import DeviceHealth, LotSummary, Reading, StatusMessage, dump
from junkan.core.topics import AgentTopics, Kind
from tests import wire
from tests.measurements import wire_measurement

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TOPICS = AgentTopics("site-a", "line-1", "agent-1")

MEASUREMENT: dict[str, Any] = wire_measurement(**{
    "composition": {
        "by_count": {"PP": {"n": 120, "share": 0.8, "ci95": [0.72, 0.86]},
                     "ABS": {"n": 30, "share": 0.2, "ci95": [0.14, 0.28]}},
        "by_mass": {"PP": {"share": 0.75, "ci95": [0.68, 0.81]}, "ABS": {"share": 0.25, "ci95": [0.19, 0.32]}},
    },
    "contaminants": {
        "Br": {"n": 150, "mean_ppm": 2500.0, "p95_ppm": 6100.0, "max_ppm": 9000.0,
               "thresholds": {"2000": {"fraction_above": 0.12, "ci95": [0.07, 0.18]}}},
        "Cd": {"n": 150, "mean_ppm": 3.0, "p95_ppm": 8.0, "max_ppm": 12.0,
               "thresholds": {"100": {"fraction_above": 0.0, "ci95": [0.0, 0.02]}}},
    },
    "product_models": [{"model": "KDL-40EX500", "count": 7}],
    "devices": {"contributed": ["scale-1", "xrf-1"], "missing": [], "degraded": []},
})


class Seeder:
    def __init__(self, store: Any) -> None:
        self.store, self.session, self.seq = store, new_id(), 0

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def _commit(self, kind: Kind, message: Any) -> None:
        result = validate(TOPICS.topic(kind), dump(message), 1_000_000)
        assert isinstance(result, Incoming), result
        self.store.commit_batch([result], [], [])

    def lot(self, lot_id: str, closed: bool = True, net: float = 321.5, measurement: dict[str, Any] | None = None,
            opened: datetime = T0) -> None:
        for event in ("opened", "closed") if closed else ("opened",):
            done = event == "closed"
            self._commit(Kind.LOT, wire.lot_message(self._next(), event, lot_id, net if done else 0.0,
                                                    session=self.session, opened=opened, measurement=measurement))
        readings = [Reading(device="scale-1", device_seq=self.seq * 10 + i, ts=opened + timedelta(seconds=i + 1),
                            kind="weighing", value=net / 2, unit="kg", status="ok", lot_id=lot_id,
                            data={"tare_kg": 30.0, "gross_kg": 30.0 + net / 2}) for i in range(2)]
        self._commit(Kind.READING, wire.reading_message(self._next(), readings, session=self.session, sent_at=opened))

    def status(self, open_lot: str | None = "LIVE-1", live_mass: float = 123.4, outbox_depth: int = 0,
               device_state: str = "alive", frames_bad: int = 0, at: datetime | None = None) -> None:
        at = at or datetime.now(UTC)
        lot = LotSummary(lot_id=open_lot, site="site-a", line="line-1", agent="agent-1", status="open",
                         opened_at=at, net_mass_kg=100.0, n_weighings=1,
                         measurement={"live_mass_kg": live_mass}) if open_lot else None
        message = StatusMessage(agent="agent-1", site="site-a", line="line-1", session=self.session, state="online",
                                at=at, outbox_depth=outbox_depth, open_lot=lot,
                                devices=[DeviceHealth(device="scale-1", driver="mt_sics", state=device_state,  # type: ignore[arg-type]
                                                      last_reading_at=at, frames_ok=1000, frames_bad=frames_bad,
                                                      last_error="bad frame" if frames_bad else None)])
        self.store.commit_batch([], [], [message])


def seed_tenants(store: Any) -> Seeder:
    """Lots A-1, A-2 for recycler-a, B-1 for recycler-b, U-1 unassigned (all closed, with a measurement)."""
    from gateway.auth import AuthRepo

    seeder = Seeder(store)
    repo = AuthRepo(store.db)
    for i, lot_id in enumerate(("A-1", "A-2", "B-1", "U-1")):
        seeder.lot(lot_id, measurement=MEASUREMENT, opened=T0 + timedelta(hours=i))
    for lot_id, recycler in (("A-1", "recycler-a"), ("A-2", "recycler-a"), ("B-1", "recycler-b")):
        assert repo.set_lot_recycler(lot_id, recycler)
    return seeder


class RecordingCommands:
    """Command sink standing in for the MQTT consumer: records what the API asked the line to do."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None, str | None]] = []

    def send_command(self, line: str, action: str, lot_id: str | None, issued_by: str | None) -> dict[str, Any]:
        self.sent.append((line, action, lot_id, issued_by))
        return {"cmd_id": new_id(), "action": action, "lot_id": lot_id, "agents": ["agent-1"]}


def client_for(store: Any, mode: str = "tokens", ip: str = "127.0.0.1", commands: Any = None, **auth: Any) -> Any:
    """A TestClient over the real app; ``ip`` is the client address the rate limiter sees."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import GatewaySettings

    settings = GatewaySettings(consume=False, auth={"mode": mode, **auth})  # type: ignore[arg-type]
    return TestClient(create_app(settings, store, commands), client=(ip, 50000))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
