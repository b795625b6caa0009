"""The generated broker config starts as the README says, as the broker's own user, and says one thing
about queue limits (the value the README quotes)."""

from __future__ import annotations

import os
import re
import shutil
import ssl
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from gateway.security.mqtt_config import AgentIdentity, generate
from junkan.broker import free_port, mosquitto_binary, wait_for_port
from junkan.core.mqtt import BROKER_MAX_INFLIGHT_MESSAGES, BROKER_MAX_QUEUED_MESSAGES

pytestmark = pytest.mark.integration
README = Path(__file__).resolve().parents[2] / "README.md"
AGENT = AgentIdentity("site-a", "line-1", "agent-1")


def test_one_documented_queue_limit() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "mqtt", [AGENT], port=free_port(), tls=False, bind="127.0.0.1")
        conf = (Path(tmp) / "mqtt" / "mosquitto.conf").read_text()
    assert f"\nmax_queued_messages {BROKER_MAX_QUEUED_MESSAGES}\n" in conf
    assert f"\nmax_inflight_messages {BROKER_MAX_INFLIGHT_MESSAGES}\n" in conf
    readme = README.read_text(encoding="utf-8")
    assert f"max_queued_messages {BROKER_MAX_QUEUED_MESSAGES}" in readme
    assert f"max_inflight_messages {BROKER_MAX_INFLIGHT_MESSAGES}" in readme.replace("\n   ", " ")
    docs = "".join(p.read_text(encoding="utf-8") for p in (README.parent / "docs").glob("*.md"))
    assert set(re.findall(r"max_queued_messages (\d+)", readme + conf + docs)) == {str(BROKER_MAX_QUEUED_MESSAGES)}


@pytest.fixture
def generated() -> Iterator[tuple[Path, dict[str, Path], int]]:
    """A config generated into a folder every user can traverse (pytest's tmp_path is private to root)."""
    tmp = Path(tempfile.mkdtemp(prefix="junkan-mqtt-conf-", dir="/tmp"))
    tmp.chmod(0o755)
    port = free_port()
    secrets = generate(tmp / "mqtt", [AGENT], port=port, tls=True, hosts=["127.0.0.1"], bind="127.0.0.1")
    yield tmp / "mqtt", secrets, port
    shutil.rmtree(tmp, ignore_errors=True)


def _roundtrip(out: Path, secrets: dict[str, Path], port: int) -> list[bytes]:
    got: list[bytes] = []
    subscribed = threading.Event()
    clients = []
    for user in ("junkan-gateway", "agent-1"):
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                             client_id=f"t-{user}")
        client.tls_set(ca_certs=str(out / "certs" / "ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.username_pw_set(user, secrets[user].read_text())
        clients.append(client)
    gateway, agent = clients
    gateway.on_connect = lambda c, *_: c.subscribe("junkan/v1/+/+/+/reading", qos=1)
    gateway.on_subscribe = lambda *_: subscribed.set()
    gateway.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    for client in clients:
        client.connect("127.0.0.1", port)
        client.loop_start()
    try:
        assert subscribed.wait(10)
        agent.publish("junkan/v1/site-a/line-1/agent-1/reading", b"hello", qos=1).wait_for_publish(5)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for client in clients:
            client.disconnect()
            client.loop_stop()
    return got


# As root, `mosquitto -c` (the README's command) drops to the mosquitto user before reading the files;
# `runuser -u mosquitto --` runs it as that user from the start. Not root: the files are the caller's own.
COMMANDS = {"as documented": [], "runuser": ["runuser", "-u", "mosquitto", "--"]}


@pytest.mark.parametrize("how", sorted(COMMANDS))
def test_generated_config_starts_as_the_broker_user(generated, how: str) -> None:  # type: ignore[no-untyped-def]
    out, secrets, port = generated
    if os.geteuid() != 0 and how == "runuser":
        pytest.skip("runuser needs root; as another user the broker runs as that user")
    proc = subprocess.Popen([*COMMANDS[how], mosquitto_binary(), "-c", str(out / "mosquitto.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port(port, timeout=10)
        except Exception:
            proc.kill()
            log = (out / "data" / "mosquitto.log")
            raise AssertionError(f"broker did not start: {proc.communicate()[0]!r} "
                                 f"{log.read_text() if log.exists() else ''}") from None
        assert _roundtrip(out, secrets, port) == [b"hello"]
        if os.geteuid() == 0:
            owner = subprocess.run(["ps", "-o", "user=", "-p", str(proc.pid)], capture_output=True, text=True)
            assert owner.stdout.strip() in ("mosquitto", "root")  # runuser's pid is the broker's parent
    finally:
        proc.terminate()
        proc.wait(10)
    if os.geteuid() == 0:  # what the broker must not read stays private
        for private in (out / "secrets", out / "certs" / "ca.key", *(out / "secrets").iterdir()):
            mode = private.stat()
            assert mode.st_uid == 0 and not mode.st_mode & (stat.S_IRGRP | stat.S_IROTH), private
