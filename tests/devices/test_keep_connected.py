"""The reconnect loop every runner shares (serial, Modbus, MQTT sources): what a loss counts as."""

from __future__ import annotations

import threading

from edge_agent.drivers.base import Backoff, DeviceCounters, keep_connected


class Closed:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _run(outcomes: list[object]) -> tuple[DeviceCounters, Closed, list[float]]:
    """One session per outcome: False (device not got), an exception, or True; then stop."""
    counters, capture, stop, waits = DeviceCounters(), Closed(), threading.Event(), []

    def session(backoff: Backoff) -> bool:
        waits.append(backoff.current)
        outcome = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if isinstance(outcome, BaseException):
            raise outcome
        return bool(outcome)

    keep_connected(stop, counters, session, (OSError,), lambda exc: f"link: {exc}", "test loop", capture=capture)
    return counters, capture, waits


def test_a_device_never_got_is_no_reconnect_but_backs_off() -> None:
    counters, capture, waits = _run([False, False, True])
    assert counters.reconnects == 0 and waits == [0.5, 1.0, 2.0] and capture.closed


def test_a_lost_link_and_a_bug_are_both_reconnects_with_their_reasons() -> None:
    counters, _, _ = _run([OSError("reset by peer"), ValueError("decoder bug"), True])
    assert counters.reconnects == 2 and not counters.connected
    assert counters.last_error == "internal: ValueError('decoder bug')"
    counters, _, _ = _run([OSError("reset by peer"), True])
    assert counters.reconnects == 1 and counters.last_error == "link: reset by peer"


def test_no_reconnect_is_counted_once_stop_is_set() -> None:
    counters, capture, _ = _run([OSError("gone")])
    assert counters.reconnects == 0 and counters.last_error == "link: gone" and capture.closed
