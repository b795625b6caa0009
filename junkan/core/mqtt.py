"""MQTT settings and the one client factory the agent, the gateway and the tools use.

paho 2.x, MQTT v5. Secrets (the password) come from a file or an environment variable, never from
the YAML itself.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import Field

from junkan.core.config import StrictConfig, read_secret

# Broker limits, one value each, used by the test broker (junkan/broker.py) and the generated production
# config (`junkan gateway mqtt-config`), and quoted in the README. Queue: QoS1 messages held for a slow or
# offline consumer; Mosquitto's default 1000 drops the rest silently while still PUBACKing the publisher.
# Not 0 ("unlimited"): with 0, Mosquitto 2.0.11 drops the connection of a client whose QoS1 publish the
# ACL denies instead of answering PUBACK 0x87 (tests/security/test_mqtt_acl.py caught it); a million
# messages is days of a line's traffic and bounds the broker's memory. In flight: the gateway PUBACKs
# only after its commit, so with 20-100 delivery stalls while each batch commits (0.52x vs 0.86x of a
# bare paho loop, docs/scaling.md).
BROKER_MAX_QUEUED_MESSAGES = 1_000_000
BROKER_MAX_INFLIGHT_MESSAGES = 1000

class TlsConfig(StrictConfig):
    ca_file: str = Field(description="CA certificate (PEM) that signed the broker's certificate.")
    cert_file: str | None = Field(default=None, description="Client certificate (PEM) when the broker requires one.")
    key_file: str | None = Field(default=None, description="Client private key (PEM).")


class BrokerLogin(StrictConfig):
    """Where a broker is and who logs in: the agent's and the gateway's own broker and a device's alike."""

    host: str = Field(default="127.0.0.1", description="Broker host name or address.")
    port: int = Field(default=1883, ge=1, le=65535, description="Broker port (8883 for TLS).")
    username: str | None = Field(default=None, description="MQTT user name, if the broker wants one (an agent's "
                                 "own: usually the agent id).")
    password_file: str | None = Field(default=None, description="File holding the MQTT password.")
    password_env: str | None = Field(default=None, description="Environment variable holding the MQTT password.")

    def password(self) -> str | None:
        return read_secret(self.password_file, self.password_env)


class MqttConfig(BrokerLogin):
    tls: TlsConfig | None = Field(default=None, description="TLS settings; omit for plain loopback brokers.")
    keepalive_s: int = Field(default=15, ge=5, description="MQTT keepalive (s); the LWT fires after 1.5x this.")
    session_expiry_s: int = Field(
        default=86400, ge=0, description="Broker keeps the agent's session (commands, acks) this long offline."
    )
    reconnect_min_s: float = Field(default=0.2, gt=0, description="First reconnect delay (s).")
    reconnect_max_s: float = Field(default=5.0, gt=0, description="Longest reconnect delay (s).")
    max_inflight: int = Field(default=100, ge=1, description="MQTT QoS1 messages in flight at the paho level.")


def make_client(cfg: MqttConfig, client_id: str, *, manual_ack: bool = False) -> mqtt.Client:
    """A paho 2.x MQTT v5 client with credentials, TLS, reconnect delays and in-flight window from ``cfg``."""
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
    )
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password())
    if cfg.tls:
        client.tls_set(ca_certs=cfg.tls.ca_file, certfile=cfg.tls.cert_file, keyfile=cfg.tls.key_file)
    client.reconnect_delay_set(min_delay=cfg.reconnect_min_s, max_delay=cfg.reconnect_max_s)  # type: ignore[arg-type]  # floats work
    client.max_inflight_messages_set(cfg.max_inflight)
    return client


def session_properties(expiry_s: int) -> Properties:
    """CONNECT properties asking the broker to keep the session ``expiry_s`` seconds after a disconnect."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = expiry_s
    return props
