"""The operator tares containers on the indicator (net mode): every protocol that says so must give the
container's true net, never a 0 kg weighing or a net read as gross (issue 15, defect "tare key").

Frames come from the simulators' own encoders (they never import a parser), go through the agent's
decoder and the weighing detector, as in the agent, with a 10 Hz frame clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.core import AgentCore
from edge_agent.drivers import DRIVERS
from edge_agent.drivers.base import DeviceReading
from edge_agent.lots.weighing import WeighingDetector, WeighingEvent
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.topics import AgentTopics
from simulators.scales import and_ad, ohaus, sartorius_sbi, toledo_continuous
from simulators.scales.mt_sics import MtSicsDevice
from simulators.scales.platform import PlatformScale, ScaleReading
from tests.edge_agent.drive import readings_in, run_until_drained

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
D = 0.02
REPO = Path(__file__).resolve().parents[2]
TARE, FILL = 31.4, 152.36


class _Port:
    def __init__(self) -> None:
        self.out = bytearray()

    def read(self, timeout: float) -> bytes:
        return b""

    def write(self, data: bytes) -> None:
        self.out += data


def _mt_sics(scale: PlatformScale) -> Callable[[], bytes]:
    """An MT-SICS balance polled TA + SI, as with ``query_tare: true``."""
    port = _Port()
    device = MtSicsDevice(scale, port)

    def frame() -> bytes:
        port.out.clear()
        device._answer("TA")
        device._answer("SI")
        return bytes(port.out)

    return frame


def _stream(encode: Callable[[ScaleReading, float], bytes], scale: PlatformScale) -> Callable[[], bytes]:
    return lambda: encode(scale.reading(), scale.division_kg)


PROTOCOLS: dict[str, Callable[[PlatformScale], Callable[[], bytes]]] = {
    "and_ad": lambda s: _stream(and_ad.encode_indicator, s),
    "sartorius_sbi": lambda s: _stream(sartorius_sbi.encode_with_id, s),
    "ohaus": lambda s: _stream(ohaus.encode, s),
    "toledo_continuous": lambda s: _stream(toledo_continuous.encode, s),
    "mt_sics": _mt_sics,
}


def _script(scale: PlatformScale, key_tare: bool, start_tared: bool = False) -> Iterator[None]:
    """One container: empty, placed, (tare keyed), filled, removed, (tare cleared); one step per frame."""
    def hold(n: int, load: float, moving: bool = False) -> Iterator[None]:
        scale.set(load_kg=load, moving=moving)
        for _ in range(n):
            yield

    if start_tared:  # the agent comes up with the container already tared: it never saw the key
        scale.set(load_kg=TARE)
        scale.tare()
    else:
        yield from hold(10, 0.0)
        yield from hold(5, TARE / 2, True)
        yield from hold(10, TARE)
        if key_tare:
            scale.tare()
    yield from hold(10, TARE)
    yield from hold(10, TARE + FILL / 2, True)
    yield from hold(10, TARE + FILL)
    yield from hold(5, (TARE + FILL) / 2, True)
    yield from hold(10, 0.0)
    scale.clear_tare()
    yield from hold(10, 0.0)


def weigh(key: str, key_tare: bool = True, start_tared: bool = False,
          use_mode: bool = True) -> tuple[list[WeighingEvent], list[DeviceReading]]:
    scale = PlatformScale(division_kg=D, seed=3)
    frame = PROTOCOLS[key](scale)
    decoder = DRIVERS[key].decoder(None)
    detector = WeighingDetector("s", D, 3, 0.5)
    events, readings, t = [], [], T0
    for _ in _script(scale, key_tare, start_tared):
        for r in decoder.feed(frame()):
            if not isinstance(r, DeviceReading) or r.kind != "weight":
                continue
            readings.append(r)
            mode, tare = (r.data.get("mode"), r.data.get("tare_kg")) if use_mode else (None, None)
            if (ev := detector.feed(t, r.value, bool(r.stable), r.status, mode, tare)) is not None:
                events.append(ev)
        t += timedelta(seconds=0.1)
    return events, readings


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_tare_keyed_on_the_indicator_gives_the_true_net(key: str) -> None:
    events, readings = weigh(key)
    assert any(r.data.get("mode") == "net" for r in readings), f"{key}: no frame said net"
    assert [(e.status, e.mode) for e in events] == [("ok", "net")], events
    assert events[0].net_kg == pytest.approx(FILL, abs=2 * D)
    assert events[0].tare_kg == pytest.approx(TARE, abs=2 * D)


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_without_the_mode_the_frames_give_no_ok_weighing(key: str) -> None:
    """Net frames read as gross (what every driver did, and all a protocol without a legend allows): the
    true net cannot be had, and no weighing is ok — the tare read as gross is no_net_mass, the fill then
    ends at -tare (zero_shift), where zero-drift correction used to make an ok 7.85 kg of it."""
    events, _ = weigh(key, use_mode=False)
    assert [(e.status, e.reason) for e in events] == [("degraded", "no_net_mass"), ("degraded", "zero_shift")]
    assert events[1].net_upper_kg is not None and events[1].net_upper_kg >= FILL


@pytest.mark.parametrize("key", sorted(PROTOCOLS))
def test_gross_mode_unchanged(key: str) -> None:
    events, readings = weigh(key, key_tare=False)
    assert all(r.data.get("mode") in (None, "gross") for r in readings)
    assert [(e.status, e.mode) for e in events] == [("ok", "gross")]
    assert events[0].net_kg == pytest.approx(FILL, abs=2 * D)


@pytest.mark.parametrize("key", ["and_ad", "sartorius_sbi", "ohaus"])
def test_tare_keyed_before_the_agent_looked(key: str) -> None:
    """Net frames whose tare the agent never saw: the removal reveals it (the display drops by the
    container's tare), so the displayed net is the container's net; never 0 kg ok."""
    events, _ = weigh(key, start_tared=True)
    assert [(e.status, e.mode) for e in events] == [("ok", "net")], events
    assert events[0].net_kg == pytest.approx(FILL, abs=2 * D)
    assert events[0].tare_kg == pytest.approx(TARE, abs=2 * D)


def test_net_frames_of_unknown_tare_mid_fill_are_degraded_not_ok() -> None:
    """First seen full, in net mode, tare unknown: no reference to weigh against, so tare_unknown."""
    det = WeighingDetector("s", D, 3, 0.5)
    frames = [(100.0, True)] * 5 + [(50.0, False)] * 3 + [(-30.0, True)] * 5
    events = [ev for i, (v, st) in enumerate(frames)
              if (ev := det.feed(T0 + timedelta(seconds=i / 10), v, st, "ok" if st else "unstable", "net"))]
    assert [(e.status, e.reason, e.net_kg) for e in events] == [("degraded", "tare_unknown", 0.0)]


def test_agent_core_weighs_net_frames_and_records_error_answers(tmp_path: Path) -> None:
    """Through the agent core into the outbox: the net-mode container is weighed at its true net, and each
    device error answer (a new cause) is a recorded reading naming it — not only a status counter."""
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml", {"outbox.batch_size": 10})
    outbox = SqliteOutbox(tmp_path / "o.db")
    core = AgentCore(config, outbox, AgentTopics("s", "line-1", "a"), new_id())
    _, frames = weigh("mt_sics")
    decoder = DRIVERS["mt_sics"].decoder(None)
    errors = [r for r in decoder.feed(b"EL\r\nEL\r\nS +\r\nS +\r\nS +\r\nS S      0.00 kg\r\n") if r.kind == "weight"]
    for reading in [*errors, *frames]:
        core.submit_reading("scale-pp", reading)
    run_until_drained(core)
    stored = readings_in(outbox)
    (w,) = [r for r in stored if r["kind"] == "weighing"]
    assert w["status"] == "ok" and w["value"] == pytest.approx(FILL, abs=2 * D) and w["data"]["mode"] == "net"
    faults = [(r["status"], r["data"]["reason"]) for r in stored if r["kind"] == "weight" and r.get("status") != "ok"
              and "reason" in r["data"]]
    assert faults == [("error", "device reported EL (logical error)"), ("overload", "overload (S +)")]


def test_an_answer_that_keeps_failing_is_recorded_once_a_minute(tmp_path: Path) -> None:
    config = load_config(REPO / "firmware_configs/lines/demo_line.yaml")
    core = AgentCore(config, SqliteOutbox(tmp_path / "o.db"), AgentTopics("s", "line-1", "a"), new_id())
    decoder = DRIVERS["mt_sics"].decoder(None)
    frames = [r for r in decoder.feed(b"ES\r\nS S      1.00 kg\r\n" * 50) if isinstance(r, DeviceReading)]
    recorded = [r for r in frames if core._new_fault("scale-pp", r)]
    assert len(frames) == 100 and [r.data["reason"] for r in recorded] == ["device reported ES (syntax error)"]
