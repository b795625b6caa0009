"""The I/O half of the ``opcua`` driver: asyncua session, security, poll/subscribe, reconnect with backoff.

One asyncio loop in the device thread. asyncua's own auto-reconnect is off: on any loss the session is
torn down and built again (nodes and namespaces resolved anew, EngineeringUnits read anew), after the
usual backoff; the channel state (last counter totals, alarm flags) lives in ``ChannelDecoder`` and
survives, so the first value after an outage covers it and a re-sent initial notification counts nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.clock import wall_now
from edge_agent.drivers.base import Backoff, DeviceCounters, Emit, log
from edge_agent.drivers.opcua import ChannelDecoder, EuInfo, OpcUaConfig, Sample, sample_to_json

_REFUSALS = {
    "BadUserAccessDenied": "wrong user name or password",
    "BadIdentityTokenInvalid": "wrong user name or password",
    "BadIdentityTokenRejected": "the server does not accept this kind of login (anonymous vs user name)",
    "BadSecurityChecksFailed": "the server does not trust the client certificate (add it to its trust list)",
    "BadCertificateUntrusted": "the server does not trust the client certificate (add it to its trust list)",
    "BadCertificateUriInvalid": "the certificate's URI does not match security.application_uri",
    "BadSecurityPolicyRejected": "the server does not offer this security policy",
}


class _QuietLoss(logging.Filter):
    """asyncua logs a traceback every second while a lost session's publish loop winds down; the runner
    reports the loss itself, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionError))


logging.getLogger("asyncua.client.ua_session").addFilter(_QuietLoss())
if logging.getLogger("asyncua").level == logging.NOTSET:
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # its INFO is per request


@dataclass
class _Bound:
    """A channel resolved on the current session."""

    node: Any | None  # asyncua Node, None when its id cannot be resolved
    label: str  # the node id as configured
    eu: EuInfo | None = None
    stable: Any | None = None
    error: str | None = None  # why it could not be resolved (shown as the channel's error)


def describe(exc: BaseException, endpoint: str, username: str | None) -> str:
    """A refusal or failure as an operator can act on it."""
    from asyncua import ua

    if isinstance(exc, ua.UaStatusCodeError):
        name = ua.StatusCode(exc.code).name
        hint = _REFUSALS.get(name)
        who = f" user {username!r}" if username and "password" in (hint or "") else ""
        return f"{endpoint}: server refused{who}: {name}" + (f" ({hint})" if hint else "")
    if isinstance(exc, ConnectionRefusedError):
        return f"{endpoint}: connection refused (server down or wrong port)"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"{endpoint}: no answer within the timeout"
    return f"{endpoint}: {type(exc).__name__}: {exc}"


class OpcUaRunner:
    def __init__(self, config: OpcUaConfig, capture_path: Path | None = None) -> None:
        self.config, self.capture_path = config, capture_path
        self.counters = DeviceCounters()
        self.channels = ChannelDecoder(config)  # kept across reconnects
        self.checkpoint: dict[str, Any] | None = None  # counter totals committed with the last readings
        self._capture: Any = None
        self._t0 = time.monotonic()

    def send(self, command: bytes) -> None:
        """Read-only integration: nothing is written to the PLC."""

    def run(self, emit: Emit, stop: threading.Event) -> None:
        self.channels.resume(self.checkpoint)
        self._capture = self.capture_path.open("a", encoding="utf-8") if self.capture_path else None
        try:
            asyncio.run(self._main(emit, stop))
        finally:
            if self._capture:
                self._capture.close()

    async def _main(self, emit: Emit, stop: threading.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                await self._session(emit, stop, backoff)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: report, back off, build a new session
                self.counters.fail(describe(exc, self.config.endpoint, self.config.username), self.config.name)
            self.counters.connected = False
            if not stop.is_set():
                self.counters.reconnects += 1
                await _sleep(stop, backoff.current)
                backoff.current = min(backoff.cap, backoff.current * 2)

    async def _client(self) -> Any:
        from asyncua import Client, crypto, ua

        cfg = self.config
        client = Client(cfg.endpoint, timeout=cfg.timeout_s, watchdog_intervall=max(1.0, cfg.timeout_s / 2))
        client.name = client.description = f"junkan agent ({cfg.name})"
        if cfg.username:
            client.set_user(cfg.username)
            client.set_password(cfg.password() or "")
        if cfg.security:
            sec = cfg.security
            client.application_uri = sec.application_uri
            policy = getattr(crypto.security_policies, f"SecurityPolicy{sec.policy}")
            key_password = os.environ.get(sec.private_key_password_env) if sec.private_key_password_env else None
            await client.set_security(policy, sec.certificate, sec.private_key, key_password,
                                      sec.server_certificate, getattr(ua.MessageSecurityMode, sec.mode))
        return client

    async def _session(self, emit: Emit, stop: threading.Event, backoff: Backoff) -> None:
        client = await self._client()
        lost = asyncio.Event()

        async def on_lost(_exc: Exception) -> None:
            lost.set()

        client.connection_lost_callback = on_lost
        await client.connect()
        try:
            self.counters.connected = True
            self.counters.last_error = None
            backoff.reset()
            bound = await self._resolve(client)
            log.info("%s: connected to %s (%d channels, %s)", self.config.name, self.config.endpoint,
                     len(bound), self.config.mode)
            if self.config.mode == "poll":
                await self._poll(client, bound, emit, stop, lost)
            else:
                await self._subscribe(client, bound, emit, stop, lost)
        finally:
            try:
                await asyncio.wait_for(client.disconnect(), timeout=2)
            except Exception:
                pass

    async def _resolve(self, client: Any) -> dict[str, _Bound]:
        from asyncua import ua

        namespaces = await client.get_namespace_array()

        def node_of(text: str) -> Any:
            if text.startswith("nsu="):
                uri, _, rest = text[4:].partition(";")
                if uri not in namespaces:
                    raise ValueError(f"namespace {uri!r} is not on the server")
                text = f"ns={namespaces.index(uri)};{rest}"
            return client.get_node(ua.NodeId.from_string(text))

        out: dict[str, _Bound] = {}
        for ch in self.config.channels:
            b = _Bound(None, ch.node)
            try:
                b.node = node_of(ch.node)
                b.stable = node_of(ch.stable_node) if ch.stable_node else None
                if ch.kind == "weight":
                    b.eu = await _engineering_units(b.node)
            except ua.UaStatusCodeError as exc:
                b.error = ua.StatusCode(exc.code).name
            except ValueError as exc:
                b.error = f"BadNodeIdInvalid ({exc})"
            out[ch.name] = b
        return out

    def _emit(self, emit: Emit, name: str, sample: Sample) -> None:
        if self._capture:
            self._capture.write(json.dumps(sample_to_json(round(time.monotonic() - self._t0, 3), name, sample)) + "\n")
            self._capture.flush()
        reading = self.channels.step(name, sample)
        if sample.status.startswith(("Good", "Uncertain")):
            self.counters.frames_ok += 1
            self.counters.last_reading_at = wall_now()
        else:
            self.counters.frames_bad += 1
            self.counters.last_error = f"channel {name}: {sample.status} on node {sample.node}"
        if reading is not None:
            emit(reading)

    async def _read_all(self, client: Any, bound: dict[str, _Bound]) -> dict[str, Sample]:
        """One Read request for every resolved node (and stable flag); per-node status codes."""
        nodes = [(name, b.node) for name, b in bound.items() if b.node is not None and b.error is None]
        nodes += [(f"{name}\0stable", b.stable) for name, b in bound.items()
                  if b.stable is not None and b.error is None]
        values = await client.read_attributes([n for _, n in nodes]) if nodes else []
        got = dict(zip([k for k, _ in nodes], values, strict=True))
        out = {}
        for name, b in bound.items():
            if b.error is not None:
                out[name] = Sample(None, b.error, b.label)
                continue
            stable = got.get(f"{name}\0stable")
            flag = bool(stable.Value.Value) if stable is not None and stable.StatusCode.is_good() else \
                (None if stable is None else False)
            out[name] = _sample(got[name], b, flag)
        return out

    async def _poll(self, client: Any, bound: dict[str, _Bound], emit: Emit, stop: threading.Event,
                    lost: asyncio.Event) -> None:
        while not stop.is_set():
            if lost.is_set():
                raise ConnectionError("connection to the server lost")
            for name, sample in (await self._read_all(client, bound)).items():
                self._emit(emit, name, sample)
            await _sleep(stop, self.config.interval_s, lost)

    async def _subscribe(self, client: Any, bound: dict[str, _Bound], emit: Emit, stop: threading.Event,
                         lost: asyncio.Event) -> None:
        """Changes pushed by the server; weights sampled from the latest value; every node read now and then
        (asyncua servers, and some PLCs, drop a deleted node's monitored item without a notification)."""
        latest: dict[str, Sample] = await self._read_all(client, bound)
        by_node: dict[Any, tuple[str, bool]] = {}
        for name, b in bound.items():
            if b.error is None and b.node is not None:
                by_node[b.node.nodeid] = (name, False)
                if b.stable is not None:
                    by_node[b.stable.nodeid] = (name, True)
        kinds = {c.name: c.kind for c in self.config.channels}
        runner = self

        class Handler:
            def datachange_notification(self, node: Any, _val: Any, data: Any) -> None:
                name, is_stable = by_node[node.nodeid]
                dv = data.monitored_item.Value
                prev = latest.get(name) or Sample(None, "Good", bound[name].label, bound[name].eu)
                if is_stable:
                    latest[name] = Sample(prev.value, prev.status, prev.node, prev.eu,
                                          bool(dv.Value.Value) if dv.StatusCode.is_good() else False)
                    return
                latest[name] = _sample(dv, bound[name], prev.stable)
                if kinds[name] != "weight":
                    runner._emit(emit, name, latest[name])

            def status_change_notification(self, status: Any) -> None:
                lost.set()

        for name, sample in latest.items():
            if kinds[name] != "weight":
                self._emit(emit, name, sample)
        sub = await client.create_subscription(self.config.interval_s * 1000, Handler())
        if by_node:
            await sub.subscribe_data_change([client.get_node(n) for n in by_node])
        next_check = time.monotonic() + self.config.node_check_s
        while not stop.is_set():
            if lost.is_set():
                raise ConnectionError("connection to the server lost")
            for name, sample in latest.items():
                if kinds[name] == "weight":
                    self._emit(emit, name, sample)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + self.config.node_check_s
                for name, sample in (await self._read_all(client, bound)).items():
                    if not sample.status.startswith(("Good", "Uncertain")):
                        latest[name] = sample
                        if kinds[name] != "weight":
                            self._emit(emit, name, sample)
            await _sleep(stop, self.config.interval_s, lost)


def _sample(dv: Any, b: _Bound, stable: bool | None) -> Sample:
    from asyncua import ua

    value = dv.Value.Value if dv.Value is not None else None
    if isinstance(value, ua.LocalizedText):
        value = value.Text
    return Sample(value, dv.StatusCode.name, b.label, b.eu, stable)


async def _engineering_units(node: Any) -> EuInfo | None:
    """The node's EngineeringUnits property; None when it has none (a missing node raises)."""
    from asyncua import ua

    try:
        prop = await node.get_child("0:EngineeringUnits")
    except ua.UaStatusCodeError as exc:
        if ua.StatusCode(exc.code).name in ("BadNoMatch", "BadNotFound"):
            await node.read_browse_name()  # BadNodeIdUnknown here when the node itself is missing
            return None
        raise
    eu = await prop.read_value()
    if not isinstance(eu, ua.EUInformation):
        return None
    return EuInfo(eu.NamespaceUri, int(eu.UnitId), eu.DisplayName.Text or "")


async def _sleep(stop: threading.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    """Sleep in short steps so a stop (a threading.Event) or a lost connection ends it early."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and not (wake and wake.is_set()):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.1))
