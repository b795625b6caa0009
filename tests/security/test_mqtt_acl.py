"""Production broker config: TLS + passwords + per-agent ACL, against a real Mosquitto."""

from __future__ import annotations

import getpass
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from gateway.security.mqtt_config import AgentIdentity, acl_text, generate
from junkan.broker import Mosquitto, free_port

pytestmark = pytest.mark.integration
AGENTS = [AgentIdentity("site-a", "line-1", "agent-1"), AgentIdentity("site-a", "line-2", "agent-2")]


@pytest.fixture
def secure_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    secrets = generate(tmp_path / "mqtt", AGENTS, port=port, tls=True, hosts=["127.0.0.1"], bind="127.0.0.1",
                       run_as=getpass.getuser())  # our tmp files are private to us
    broker = Mosquitto(tmp_path / "mqtt", port=port, conf_path=tmp_path / "mqtt" / "mosquitto.conf").start()
    yield broker, secrets, tmp_path / "mqtt" / "certs" / "ca.crt"
    broker.stop()


class Client:
    """A paho v5 client that records connect result, PUBACK reason codes and received messages."""

    def __init__(self, port: int, ca: Path, user: str | None, password: str | None) -> None:
        self.connected = threading.Event()
        self.connect_reason: object = None
        self.pubacks: dict[int, object] = {}
        self.received: list[mqtt.MQTTMessage] = []
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                                  client_id=f"test-{user}-{time.monotonic_ns()}")
        self.client.tls_set(ca_certs=str(ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if user:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_publish = lambda c, u, mid, rc, props: self.pubacks.__setitem__(mid, rc)
        self.client.on_message = lambda c, u, m: self.received.append(m)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason, props) -> None:  # type: ignore[no-untyped-def]
        self.connect_reason = reason
        self.connected.set()

    def publish(self, topic: str) -> object:
        info = self.client.publish(topic, b"{}", qos=1)
        deadline = time.monotonic() + 5
        while info.mid not in self.pubacks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.pubacks.get(info.mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def logged_in(secure_broker: Any, *users: str) -> Iterator[list[Client]]:
    """Clients connected as ``users`` with their generated passwords; closed when the block ends."""
    broker, secrets, ca = secure_broker
    clients = [Client(broker.port, ca, user, secrets[user].read_text()) for user in users]
    try:
        assert all(c.connected.wait(5) for c in clients)
        yield clients
    finally:
        for c in clients:
            c.close()


def gateway_settings(secure_broker: Any) -> Any:
    """The gateway's settings for the generated broker: its user, password file and the CA (TLS)."""
    from gateway.settings import GatewaySettings

    broker, secrets, ca = secure_broker
    return GatewaySettings.model_validate({"mqtt": {
        "host": "127.0.0.1", "port": broker.port, "username": "junkan-gateway",
        "password_file": str(secrets["junkan-gateway"]), "tls": {"ca_file": str(ca)}}})


def test_acl_pins_each_agent_to_its_own_topics() -> None:
    text = acl_text(AGENTS)
    assert "topic write junkan/v1/site-a/line-1/agent-1/reading" in text
    assert "topic read junkan/v1/site-a/line-1/agent-1/cmd" in text
    assert "agent-2/reading" not in text.split("user agent-2")[0].split("user agent-1")[1]


def test_agent_cannot_publish_under_another_agents_prefix(secure_broker) -> None:  # type: ignore[no-untyped-def]
    with logged_in(secure_broker, "junkan-gateway", "agent-1") as (gateway, agent1):
        assert not gateway.connect_reason.is_failure  # type: ignore[attr-defined]
        gateway.client.subscribe([("$share/g/junkan/v1/+/+/+/reading", 1), ("junkan/v1/+/+/+/status", 1)])
        time.sleep(0.3)
        own = agent1.publish("junkan/v1/site-a/line-1/agent-1/reading")
        forged = agent1.publish("junkan/v1/site-a/line-2/agent-2/reading")
        wrong_line = agent1.publish("junkan/v1/site-a/line-2/agent-1/reading")
        assert own is not None and own.value == 0  # type: ignore[attr-defined]
        assert forged is not None and forged.value == 0x87  # type: ignore[attr-defined]  # Not authorized
        assert wrong_line is not None and wrong_line.value == 0x87  # type: ignore[attr-defined]
        time.sleep(0.5)
        topics = [m.topic for m in gateway.received]
        assert topics == ["junkan/v1/site-a/line-1/agent-1/reading"]  # the forged ones never reached the gateway


def test_agent_cannot_read_other_agents_commands(secure_broker) -> None:  # type: ignore[no-untyped-def]
    with logged_in(secure_broker, "junkan-gateway", "agent-1") as (gateway, agent1):
        other, own = "junkan/v1/site-a/line-2/agent-2/cmd", "junkan/v1/site-a/line-1/agent-1/cmd"
        agent1.client.subscribe([(other, 1), (own, 1)])
        time.sleep(0.3)
        gateway.publish("junkan/v1/site-a/line-2/agent-2/cmd")
        gateway.publish("junkan/v1/site-a/line-1/agent-1/cmd")
        time.sleep(0.5)
        assert [m.topic for m in agent1.received] == ["junkan/v1/site-a/line-1/agent-1/cmd"]


def test_anonymous_and_wrong_password_are_refused(secure_broker) -> None:  # type: ignore[no-untyped-def]
    broker, _secrets, ca = secure_broker
    for user, password in ((None, None), ("agent-1", "wrong")):
        client = Client(broker.port, ca, user, password)
        try:
            assert client.connected.wait(5)
            assert client.connect_reason.is_failure  # type: ignore[attr-defined]
        finally:
            client.close()


def test_real_gateway_over_tls_stores_own_message_but_nothing_forged(secure_broker, gateway_store) -> None:  # type: ignore[no-untyped-def]
    from gateway.ingest.consumer import Consumer
    from junkan.core.messages import dump
    from tests.wire import reading_message, weighings

    settings = gateway_settings(secure_broker)
    store = gateway_store
    consumer = Consumer(settings, store)
    consumer.start()
    try:
        with logged_in(secure_broker, "agent-1") as (agent1,):
            assert consumer.connected.wait(10)
            time.sleep(0.3)
            forged = reading_message(1, weighings([0]), agent="agent-2")
            assert agent1.client.publish("junkan/v1/site-a/line-2/agent-2/reading", dump(forged), qos=1)
            own = reading_message(2, weighings([1]), agent="agent-1")
            agent1.client.subscribe("junkan/v1/site-a/line-1/agent-1/ack", qos=1)
            time.sleep(0.3)
            agent1.client.publish("junkan/v1/site-a/line-1/agent-1/reading", dump(own), qos=1)
            deadline = time.monotonic() + 10
            while not agent1.received and time.monotonic() < deadline:
                time.sleep(0.05)
            assert agent1.received, "no application ack for the agent's own message"
            assert b'"stored"' in agent1.received[0].payload
            rows = store.db.rows("SELECT agent, msg_id FROM messages")
            assert rows == [{"agent": "agent-1", "msg_id": own.msg_id}]
            assert store.counts()["dead_letters"] == 0
    finally:
        consumer.stop()


def test_forged_events_on_the_senders_own_topic_change_nothing(secure_broker, gateway_store) -> None:  # type: ignore[no-untyped-def]
    """Through the generated TLS + ACL broker: agent-2 publishes only where the ACL lets it (its own
    topics), naming agent-1's lot in a lot event and a reading, and claiming agent-1 inside the payload.
    agent-1's lot keeps its mass, measurement and readings; every forgery is dead-lettered and refused."""
    from gateway.ingest.consumer import Consumer
    from junkan.core.messages import dump
    from junkan.core.topics import Kind
    from tests.security.fuzz_corpus import A1, A2, OWN_LOT, honest_lot, honest_reading

    settings = gateway_settings(secure_broker)
    consumer = Consumer(settings, gateway_store)
    consumer.start()
    try:
        with logged_in(secure_broker, "agent-1", "agent-2") as (agent1, agent2):
            assert consumer.connected.wait(10)
            time.sleep(0.3)
            for message in (honest_lot(1, "opened"), honest_reading(2), honest_lot(3, "closed", net=400.0)):
                topic = A1.topic(Kind.LOT if message.schema_ == "junkan.lot/1" else Kind.READING)
                assert agent1.client.publish(topic, dump(message), qos=1)
            deadline = time.monotonic() + 10
            while (gateway_store.get_lot(OWN_LOT) or {}).get("status") != "closed" and time.monotonic() < deadline:
                time.sleep(0.05)
            before = gateway_store.get_lot(OWN_LOT)
            assert before is not None and before["net_mass_kg"] == 400.0
            forged_close = honest_lot(10, "closed", lot_id=OWN_LOT, agent=A2, net=1.0)
            claims_agent1 = honest_lot(11, "closed", lot_id=OWN_LOT, agent=A1, net=1.0)
            claims_agent1 = claims_agent1.model_copy(update={"agent": "agent-2"})  # envelope matches the topic
            forged_reading = honest_reading(12, agent=A2, lot=OWN_LOT)
            pubacks = [agent2.publish(A2.topic(Kind.LOT)), agent2.publish(A1.topic(Kind.LOT))]  # ACL: own yes, other no
            assert [getattr(p, "value", None) for p in pubacks] == [0, 0x87]
            for topic, message in ((A2.topic(Kind.LOT), forged_close), (A2.topic(Kind.LOT), claims_agent1),
                                   (A2.topic(Kind.READING), forged_reading)):
                agent2.client.publish(topic, dump(message), qos=1)
            deadline = time.monotonic() + 10
            while gateway_store.counts()["dead_letters"] < 4 and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        consumer.stop()
    after = gateway_store.get_lot(OWN_LOT)
    assert after == before, "a forged event changed agent-1's lot"
    assert {r["agent"] for r in gateway_store.lot_readings(OWN_LOT)} == {"agent-1"}
    reasons = sorted(r["reason"].split(":")[0] for r in gateway_store.dead_letters())
    assert reasons == ["identity_mismatch"] * 3 + ["schema"], reasons  # + agent-2's "{}" on its own lot topic
