"""Go-back-N must not resend a deep window the gateway is still acking (P3 drain, issue 8)."""

from __future__ import annotations

from types import SimpleNamespace

from edge_agent.publishing.mqtt_publisher import MqttPublisher


def _overdue(now: float, oldest_sent: float, last_ack: float, timeout: float = 10.0) -> bool:
    state = SimpleNamespace(ack_timeout_s=timeout, _last_ack=last_ack)
    return MqttPublisher._ack_overdue(state, now, oldest_sent)  # type: ignore[arg-type]


def test_young_messages_are_never_overdue() -> None:
    assert not _overdue(now=105.0, oldest_sent=100.0, last_ack=0.0)


def test_no_acks_at_all_resends_after_the_timeout() -> None:
    assert _overdue(now=111.0, oldest_sent=100.0, last_ack=0.0)
    assert _overdue(now=111.0, oldest_sent=100.0, last_ack=99.0)  # last ack older than the timeout


def test_acks_still_flowing_wait_up_to_three_timeouts() -> None:
    assert not _overdue(now=115.0, oldest_sent=100.0, last_ack=114.0)
    assert not _overdue(now=129.0, oldest_sent=100.0, last_ack=128.0)
    assert _overdue(now=131.0, oldest_sent=100.0, last_ack=130.5)  # a lost message is still resent
