"""A Sparkplug B 3.0 edge node with a platform scale under it, encoded with pysparkplug (not junkan's code).

pysparkplug (Apache-2.0) carries its own compiled copy of Eclipse Tahu's schema, so a mistake in junkan's
decoder cannot hide behind the same mistake here. It pins paho-mqtt<2 (junkan needs 2.x), so this runs in
its own venv: ``make .venv-sparkplug`` then ``.venv-sparkplug/bin/python -m simulators.sparkplug_b run ...``
with the repository on PYTHONPATH. It imports nothing from junkan.

What it does, as an edge node must (spec ch.5): CONNECT with a Will NDEATH carrying ``bdSeq`` (kept in
``--state``, +1 per CONNECT, wraps at 256), subscribe to its NCMD, then NBIRTH (seq 0) and DBIRTH of
``scale1`` with aliases, then DDATA by alias only (report by exception). ``Node Control/Rebirth`` = true
in an NCMD republishes both BIRTHs. ``--die-at N`` ends the process abruptly before step N (the broker
sends the will: a death mid-stream); run again with the same ``--state`` to restart with bdSeq+1 at the
step it died at. ``--drop-at N`` skips publishing step N's message but spends its seq (a lost message).

The weighing plan (``--containers tare:net,...``) goes empty -> tare (unstable, then stable) -> filling
-> stable gross -> removed -> empty; ``--truth`` gets one JSON line per container once it is removed.
``--log`` gets one JSON line per published message (what was sent, for nothing-lost/invented checks).
``frames`` writes the same traffic as a capture file without a broker (golden cases).
``follow`` has no plan of its own: it publishes the weights another process drives (one JSON line per
sample on stdin), which is how a scenario line's output scale reaches the agent over Sparkplug B
(``simulators/plantline/scale_sources.py``; killing the process is the node's death).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from simulators import node_cli

GROUP, NODE, DEVICE = "plant1", "line1-edge", "scale1"
ALIAS = {"Scale/Weight": 1, "Scale/Stable": 2, "Scale/Containers": 3, "Scale/Alarms": 4}


def plan_steps(containers: list[tuple[float, float]], fill_steps: int = 4) -> list[dict[str, Any]]:
    """Scale states, one per step: weight (kg), stable, containers removed so far."""
    steps: list[dict[str, Any]] = [{"w": 0.0, "stable": True, "n": 0}]
    for i, (tare, net) in enumerate(containers):
        steps.append({"w": round(tare * 0.7, 3), "stable": False, "n": i})
        steps += [{"w": tare, "stable": True, "n": i}] * 2
        steps += [{"w": round(tare + net * k / fill_steps, 3), "stable": False, "n": i} for k in range(1, fill_steps)]
        steps += [{"w": round(tare + net, 3), "stable": True, "n": i}] * 2
        steps.append({"w": round((tare + net) * 0.3, 3), "stable": False, "n": i})
        steps += [{"w": 0.0, "stable": True, "n": i + 1, "removed": {"container": i, "tare_kg": tare,
                                                                     "net_kg": net}}] * 2
    return steps


class EdgeNodeSim:
    """The encoding half: Sparkplug payloads for each step, with the node's seq counter."""

    def __init__(self, bd_seq: int, stable_as_property: bool = False) -> None:
        self.bd_seq, self.seq, self.stable_as_property = bd_seq, 0, stable_as_property
        self.state: dict[str, Any] = {"w": 0.0, "stable": True, "n": 0}

    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) % 256
        return self.seq

    def _scale_metrics(self, now: int, birth: bool, changed: set[str]) -> list[Any]:
        from pysparkplug import DataType, Metric

        values = {"Scale/Weight": (DataType.DOUBLE, float(self.state["w"])),
                  "Scale/Stable": (DataType.BOOLEAN, bool(self.state["stable"])),
                  "Scale/Containers": (DataType.UINT64, int(self.state["n"])),
                  "Scale/Alarms": (DataType.UINT32, 0)}
        if self.stable_as_property:
            values.pop("Scale/Stable")
        return [Metric(timestamp=now, name=name if birth else None, alias=ALIAS[name], datatype=dt, value=v)
                for name, (dt, v) in values.items() if birth or name in changed]

    def births(self) -> list[tuple[str, bytes]]:
        from pysparkplug import DataType, DBirth, Metric, NBirth, get_current_timestamp

        now = get_current_timestamp()
        self.seq = 0
        node = NBirth(timestamp=now, seq=0, metrics=(
            Metric(timestamp=now, name="bdSeq", datatype=DataType.INT64, value=self.bd_seq),
            Metric(timestamp=now, name="Node Control/Rebirth", datatype=DataType.BOOLEAN, value=False)))
        dev = DBirth(timestamp=now, seq=self._next_seq(), metrics=tuple(self._scale_metrics(now, True, set())))
        return [(f"spBv1.0/{GROUP}/NBIRTH/{NODE}", node.encode(include_dtypes=True)),
                (f"spBv1.0/{GROUP}/DBIRTH/{NODE}/{DEVICE}", self._props(dev.encode(include_dtypes=True)))]

    def step(self, new: dict[str, Any]) -> tuple[str, bytes] | None:
        """DDATA with the metrics that changed (report by exception); None when nothing changed."""
        from pysparkplug import DData, get_current_timestamp

        changed = {name for name, key in (("Scale/Weight", "w"), ("Scale/Stable", "stable"),
                                          ("Scale/Containers", "n")) if new[key] != self.state.get(key)}
        if self.stable_as_property and "Scale/Stable" in changed:
            changed.add("Scale/Weight")
        self.state = {k: new[k] for k in ("w", "stable", "n")}
        if not changed:
            return None
        now = get_current_timestamp()
        payload = DData(timestamp=now, seq=self._next_seq(), metrics=tuple(self._scale_metrics(now, False, changed)))
        return f"spBv1.0/{GROUP}/DDATA/{NODE}/{DEVICE}", self._props(payload.encode())

    def _props(self, raw: bytes) -> bytes:
        """With ``stable_as_property`` the weight metric carries ``stable`` as a Sparkplug property."""
        if not self.stable_as_property:
            return raw
        from pysparkplug._protobuf import Payload

        p = Payload.FromString(raw)
        for m in p.metrics:
            if m.alias == ALIAS["Scale/Weight"]:
                m.properties.keys.append("stable")
                m.properties.values.add(type=11, boolean_value=bool(self.state["stable"]))
        return bytes(p.SerializeToString())

    def death(self) -> tuple[str, bytes]:
        from pysparkplug import DataType, Metric, NDeath, get_current_timestamp

        now = get_current_timestamp()
        bd = Metric(timestamp=now, name="bdSeq", datatype=DataType.INT64, value=self.bd_seq)
        return f"spBv1.0/{GROUP}/NDEATH/{NODE}", NDeath(timestamp=now, bd_seq_metric=bd).encode()


def _is_rebirth(payload: bytes) -> bool:
    from pysparkplug import NCmd

    try:
        return any(m.name == "Node Control/Rebirth" and m.value is True for m in NCmd.decode(payload).metrics)
    except Exception:
        return False


class _Session:
    """One MQTT session of the edge node: Will = NDEATH with this CONNECT's bdSeq, NCMD subscribed before
    the BIRTHs, rebirth requests served; ``publish`` logs each message to ``--log``."""

    def __init__(self, args: argparse.Namespace, sim: EdgeNodeSim) -> None:
        import paho.mqtt.client as mqtt  # 1.6.x in the simulator's venv

        self.sim, self.lock = sim, threading.Lock()
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115
        self.client = client = mqtt.Client(client_id=f"sim-{NODE}", clean_session=True)
        will_topic, will_payload = sim.death()
        client.will_set(will_topic, will_payload, qos=1, retain=False)
        client.on_message = self._on_message
        client.connect(args.host, args.port, keepalive=5)
        client.subscribe(f"spBv1.0/{GROUP}/NCMD/{NODE}", qos=1)  # before NBIRTH, so rebirths are heard
        client.loop_start()
        time.sleep(0.2)
        with self.lock:
            for topic, payload in sim.births():
                self.publish(topic, payload, "birth")

    def publish(self, topic: str, payload: bytes, what: str) -> None:
        self.client.publish(topic, payload, qos=0)
        self.note(what, topic=topic)

    def note(self, what: str, **extra: Any) -> None:
        if self.log:
            self.log.write(json.dumps({"t": time.time(), **extra, "what": what, "bd_seq": self.sim.bd_seq,
                                       "seq": self.sim.seq, "state": self.sim.state}) + "\n")
            self.log.flush()

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        if _is_rebirth(msg.payload):
            with self.lock:
                for topic, payload in self.sim.births():
                    self.publish(topic, payload, "rebirth")

    def close(self, linger_s: float) -> None:
        time.sleep(linger_s)
        self.client.loop_stop()
        self.client.disconnect()


def _next_bd_seq(state_path: Path) -> tuple[int, int]:
    """(bdSeq of this CONNECT, step to resume at): the saved bdSeq + 1, wrapping at 256 (spec ch.5)."""
    saved = json.loads(state_path.read_text()) if state_path.exists() else {"bd_seq": -1, "step": 0}
    bd_seq, start = (saved["bd_seq"] + 1) % 256, saved.get("step", 0)
    state_path.write_text(json.dumps({"bd_seq": bd_seq, "step": start}))
    return bd_seq, start


def run(args: argparse.Namespace) -> int:
    state_path = Path(args.state)
    bd_seq, start = _next_bd_seq(state_path)
    steps = plan_steps(node_cli.containers(args.containers))
    sim = EdgeNodeSim(bd_seq, args.stable_as_property)
    if start > 0:
        sim.state = {k: steps[start - 1][k] for k in ("w", "stable", "n")}
    truth = open(args.truth, "a", encoding="utf-8") if args.truth else None  # noqa: SIM115
    session = _Session(args, sim)
    for i in range(start, len(steps)):
        if i == args.die_at:
            os._exit(3)  # abrupt: no DISCONNECT, so the broker publishes the will (NDEATH)
        time.sleep(args.interval)
        with session.lock:
            msg = sim.step(steps[i])
            state_path.write_text(json.dumps({"bd_seq": bd_seq, "step": i + 1}))
            if msg is not None and i != args.drop_at:
                session.publish(*msg, "data")
            elif msg is not None:
                session.note("dropped")
        if truth and "removed" in steps[i] and steps[i - 1].get("removed") is None:
            truth.write(json.dumps(steps[i]["removed"]) + "\n")
            truth.flush()
    session.close(args.linger)
    return 0


def follow(args: argparse.Namespace) -> int:
    """The node in front of a scale someone else drives (a scenario's platform scale): one JSON line
    ``{"w": kg, "stable": bool}`` per sample on stdin becomes a DDATA when it changed (report by exception).
    Ends at end of input with a clean DISCONNECT (no NDEATH); killed, the broker sends the will."""
    def state(line: str) -> dict[str, Any]:
        sample = json.loads(line)
        return {"w": round(float(sample["w"]), 6), "stable": bool(sample["stable"]), "n": 0}

    first = sys.stdin.readline()
    if not first:
        return 0
    bd_seq, _ = _next_bd_seq(Path(args.state))
    sim = EdgeNodeSim(bd_seq)
    sim.state = state(first)  # the BIRTH carries what the scale shows now (a node reads it before its birth)
    session = _Session(args, sim)
    for line in sys.stdin:
        with session.lock:
            msg = sim.step(state(line))
            if msg is not None:
                session.publish(*msg, "data")
    session.close(0.0)
    return 0


def frames(args: argparse.Namespace) -> int:
    """The same traffic as a capture file (``{"t", "topic", "payload_b64"}`` lines), no broker."""

    sim = EdgeNodeSim(args.bd_seq, args.stable_as_property)
    out: list[tuple[str, bytes]] = []
    steps = plan_steps(node_cli.containers(args.containers))
    if args.data_before_birth:
        early = EdgeNodeSim(args.bd_seq)
        early.births()
        first = early.step(steps[1])
        if first is not None:
            out.append(first)
    out += sim.births()
    for i, step in enumerate(steps):
        msg = sim.step(step)
        if msg is not None and i != args.drop_at:
            out.append(msg)
        if i == args.die_at:
            out.append(sim.death())
            break
    node_cli.write_capture(args.out, out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser, sub, run_p, frames_p = node_cli.node_parser("simulators.sparkplug_b", __doc__,
                                                        "die before this step (will = NDEATH)")
    for p in (run_p, frames_p):
        p.add_argument("--stable-as-property", action="store_true", help="stable flag as a property of Weight")
        p.add_argument("--drop-at", type=int, default=-1, help="lose this step's message (seq gap)")
    follow_p = sub.add_parser("follow", help="publish the scale samples read from stdin (scenario lines)")
    for p in (run_p, follow_p):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=1883)
        p.add_argument("--state", required=True, help="JSON file keeping bdSeq (and the step) across restarts")
        p.add_argument("--log", help="append one JSON line per published message")
    run_p.add_argument("--interval", type=float, default=0.05, help="seconds between steps")
    run_p.add_argument("--linger", type=float, default=1.0, help="seconds to stay connected after the plan")
    frames_p.add_argument("--bd-seq", type=int, default=0)
    frames_p.add_argument("--data-before-birth", action="store_true", help="start with a DDATA before any BIRTH")
    args = parser.parse_args(argv)
    return {"run": run, "follow": follow, "frames": frames}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
