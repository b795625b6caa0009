"""P3 backlog drain (rate, outbox bytes per reading, agent peak RSS) and P7 agent CPU per reading.

P3: the outbox is filled as a running agent fills it (50 readings/message), then a separate process
— the "agent", only the real ``SqliteOutbox`` + ``MqttPublisher`` — drains it through the private
broker to a real `junkan gateway serve` (SQLite) and exits when every message is acked. Its peak RSS
comes from ``os.wait4``. Baselines, same run: the same payloads published by a bare paho QoS1 loop
(transport only: no consumer, no acks), the JSON payload bytes per reading, an idle process with the
same imports.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from junkan.broker import Mosquitto, free_port, wait_for_port
from junkan.plant import Service
from tests.benchmarks.common import Figure, client, publish_backlog
from tests.scaleout.load import LoadAgent

REPO = Path(__file__).resolve().parents[2]


def _child(args: list[str]) -> tuple[dict[str, Any], int]:
    """Run ``python -m tests.benchmarks.bench_agent ARGS``; (its JSON stdout, its peak RSS in bytes).

    The peak is the child's own VmHWM: ``wait4``'s ru_maxrss would include this (bigger) process's
    image, which Linux carries over fork+exec."""
    proc = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_agent", *args], cwd=REPO,
                          capture_output=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    result = json.loads(proc.stdout)
    return result, int(result.pop("vm_hwm_kb")) * 1024


def vm_hwm_kb() -> int:
    """Peak resident set of this process (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def outbox_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def p3(quick: bool, n_readings: int | None = None, per_message: int = 50) -> dict[str, Figure]:
    n = n_readings or int(os.environ.get("JUNKAN_BENCH_P3_READINGS", 100_000 if quick else 1_000_000))
    with tempfile.TemporaryDirectory(prefix="junkan-bench-p3-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker").start()
        gateway: Service | None = None
        try:
            agent = LoadAgent(work, broker.port, "drain-agent")
            n_msgs = agent.fill(n, per_message)
            payloads = [(m.topic, m.payload) for m in agent.outbox.after(0, n_msgs)]
            agent.outbox.close()
            size = outbox_bytes(work / "drain-agent-outbox.db")
            payload_bytes = sum(len(p) for _t, p in payloads)
            raw_s = publish_backlog(broker.port, payloads)
            del payloads
            api = free_port()
            gateway = Service("gateway", ["gateway", "serve", "--set", f"mqtt.port={broker.port}",
                                          "--set", f"api.port={api}", "--set", f"db_url=sqlite:///{work}/gw.db",
                                          "--set", "share_group=p3"], work).start()
            wait_for_port(api, timeout=60)
            drained, rss = _child(["drain", str(work), str(broker.port), "drain-agent"])
            _idle, idle_rss = _child(["idle"])
        finally:
            if gateway:
                gateway.stop()
            broker.stop()
    note = f"{n} readings, {per_message}/message"
    stats = drained.get("stats", {})
    return {
        "P3": Figure(n / drained["seconds"], n / raw_s, "readings/s", f"outbox drain to a gateway, acked ({note})",
                     "bare paho QoS1 publish of the same payloads (no consumer, no acks)",
                     note=f"agent published {stats.get('published')} messages for {n // per_message}, "
                          f"{stats.get('resend_rounds')} go-back-N resend rounds"),
        "P3_bytes": Figure(size / n, payload_bytes / n, "B/reading", "outbox file bytes per reading",
                           "JSON payload bytes per reading", better="lower"),
        "P3_rss": Figure(rss / 2**20, idle_rss / 2**20, "MiB", "peak RSS of the draining agent process",
                         "idle process with the same imports", better="lower"),
    }


def _drain(workdir: str, port: str, agent_name: str) -> dict[str, Any]:
    agent = LoadAgent(Path(workdir), int(port), agent_name, window=1000)
    started = time.perf_counter()
    agent.start()
    while agent.depth() > 0:
        time.sleep(0.01)
    seconds = time.perf_counter() - started
    stats = dict(agent.publisher.stats) if agent.publisher else {}
    agent.stop()
    return {"seconds": seconds, "stats": stats}


# -- P7 ----------------------------------------------------------------------------------------------
def _frames(n: int) -> bytes:
    return b"".join(b"S S     %8.2f kg\r\n" % (100 + (i % 500) / 100) for i in range(n))


def agent_pipeline_cpu(n: int, port: int, workdir: Path) -> float:
    """CPU s: MT-SICS decode -> AgentCore (batches of 50) -> outbox -> MqttPublisher, acks from a gateway."""
    from edge_agent.config import AgentConfig
    from edge_agent.core import AgentCore
    from edge_agent.drivers.base import DeviceReading
    from edge_agent.drivers.mt_sics import decoder

    config = AgentConfig.model_validate({
        "site": "site-a", "line": "line-1", "agent": "cpu-agent",
        "outbox": {"path": str(workdir / "cpu-outbox.db"), "batch_size": 50, "batch_max_delay_s": 0.25},
        "devices": [{"name": "scale-1", "type": "mt_sics", "port": {"url": "loop://"}}]})
    agent = LoadAgent(workdir, port, "cpu-agent", window=1000)
    core = AgentCore(config, agent.outbox, agent.topics, agent.session)
    agent.start()
    now = datetime.now(UTC)
    cpu0 = time.process_time()
    dec = decoder()
    for reading in dec.feed(_frames(n)):
        if not isinstance(reading, DeviceReading):
            raise AssertionError(f"bad frame in generated input: {reading}")
        # a stored reading per frame (weight frames would feed the weighing detector instead)
        sample = dataclasses.replace(reading, kind="weight_sample", ts=now)
        core._on_reading("scale-1", sample, now)
        core._flush_readings()
    core._flush_readings(force=True)
    while agent.depth() > 0:
        time.sleep(0.01)
    cpu = time.process_time() - cpu0
    agent.stop()
    return cpu


def naive_cpu(n: int, port: int) -> float:
    """CPU s: float() each frame, json.dumps a dict, paho QoS1 publish per reading, wait for PUBACKs."""
    pub = client("naive")
    done, acked = threading.Event(), [0]

    def on_publish(*_a: Any) -> None:
        acked[0] += 1
        if acked[0] == n:
            done.set()

    pub.on_publish = on_publish
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    cpu0 = time.process_time()
    for i, line in enumerate(_frames(n).split(b"\r\n")[:n]):
        value = float(line[3:-3])
        body = json.dumps({"device": "scale-1", "seq": i, "ts": time.time(), "value": value, "unit": "kg"})
        while pub.publish("junkan/v1/site-a/line-1/naive/reading", body, qos=1).rc != 0:
            time.sleep(0.001)
    done.wait(120)
    cpu = time.process_time() - cpu0
    pub.disconnect()
    pub.loop_stop()
    return cpu


def p7(quick: bool, n: int | None = None) -> Figure:
    n = n or (10_000 if quick else 50_000)
    with tempfile.TemporaryDirectory(prefix="junkan-bench-p7-") as tmp:
        work = Path(tmp)
        broker = Mosquitto(work / "broker").start()
        api = free_port()
        gateway = Service("gateway", ["gateway", "serve", "--set", f"mqtt.port={broker.port}", "--set",
                                      f"api.port={api}", "--set", f"db_url=sqlite:///{work}/gw.db"], work).start()
        try:
            wait_for_port(api, timeout=60)
            ours, _ = _child(["cpu", str(work), str(broker.port), str(n)])
            naive, _ = _child(["naive", str(broker.port), str(n)])
        finally:
            gateway.stop()
            broker.stop()
    return Figure(ours["cpu_s"] / n * 1e6, naive["cpu_s"] / n * 1e6, "µs CPU/reading",
                  "agent: MT-SICS decode + core + outbox + publisher, 50 readings/message, acked",
                  "naive loop: parse + json.dumps + paho QoS1 publish per reading", better="lower")


def main(argv: list[str]) -> int:
    """Child-process entry points (own process: own RSS and CPU accounting)."""
    if argv[0] == "drain":
        result = _drain(argv[1], argv[2], argv[3])
    elif argv[0] == "idle":
        import edge_agent.publishing.mqtt_publisher  # noqa: F401  the same imports as the drain child
        import tests.scaleout.load  # noqa: F401

        result = {}
    elif argv[0] == "cpu":
        result = {"cpu_s": agent_pipeline_cpu(int(argv[3]), int(argv[2]), Path(argv[1]))}
    elif argv[0] == "naive":
        result = {"cpu_s": naive_cpu(int(argv[2]), int(argv[1]))}
    else:
        raise SystemExit(f"unknown child command {argv[0]!r}")
    print(json.dumps({**result, "vm_hwm_kb": vm_hwm_kb()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
