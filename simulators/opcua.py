"""An OPC UA server of a platform scale and an NIR sorter, for tests, demos and scenarios (asyncua).

Address space (namespace ``urn:junkan:sim:opcua``, string node ids):

====================  ============  =========================================================================
node id               type          meaning
====================  ============  =========================================================================
``Scale.NetWeight``   Double        net weight in the scale's unit; property ``EngineeringUnits`` =
                                    EUInformation (UN/CEFACT code, OPC 10000-8 §5.6.3), as an AnalogItem
``Scale.WeightStable``  Boolean     the indicator's motion flag (OPC 40200 ``WeightStable``)
``Sorter.<class>``    UInt32        objects detected per polymer program, only ever counts up (until a PLC
                                    restart with ``reset_counters``)
``Sorter.AlarmWord``  UInt16        alarm bits (bit 0 emergency stop ...)
``Sorter.EmergencyStop`` Boolean    bit 0 as its own node
====================  ============  =========================================================================

The plant state (weight, counters, alarms) lives in this object, not in the asyncua server, so ``stop()``
and ``start()`` model a PLC whose OPC UA server restarts while its counters persist. ``remove(node)``
deletes a node while clients are connected (a PLC program download that drops a tag).

Security (optional): Basic256Sha256 SignAndEncrypt only, with the server's certificate/key, a set of trusted
client certificates (DER) and user names with passwords. This module speaks OPC UA with asyncua's server
and is independent of the agent's driver.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMESPACE = "urn:junkan:sim:opcua"
CEFACT = "http://www.opcfoundation.org/UA/units/un/cefact"
# UN/CEFACT Rec 20 common codes, packed byte-wise into UnitId as OPC 10000-8 §5.6.3 says.
UNIT_CODES = {"kg": "KGM", "g": "GRM", "lb": "LBR", "t": "TNE", "N": "NEW"}
ALARM_BITS = ("emergency_stop", "air_pressure_low", "sensor_dirty", "ejector_fault")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def unit_id(code: str) -> int:
    """'KGM' -> 4933453: each ASCII byte shifted in, as the companion spec packs Rec 20 codes."""
    out = 0
    for ch in code:
        out = out << 8 | ord(ch)
    return out


@dataclass
class SimSecurity:
    """Basic256Sha256 SignAndEncrypt with these files; None fields mean no such check."""

    certificate: Path  # server certificate (DER or PEM)
    private_key: Path  # server key (PEM)
    trusted_clients: list[Path] = field(default_factory=list)  # client certificates accepted (DER or PEM)
    users: dict[str, str] = field(default_factory=dict)  # user name -> password; empty: anonymous allowed


class _Users:
    """asyncua user manager: a user name and password must match; anonymous only when no users are set."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> Any:
        from asyncua.crypto.permission_rules import User, UserRole

        if not self.users:
            return User(role=UserRole.User)
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class OpcUaPlant:
    """Runs the server in its own thread and event loop; every method is callable from any thread."""

    def __init__(self, port: int | None = None, unit: str | None = "kg", classes: tuple[str, ...] = ("PET", "PP"),
                 security: SimSecurity | None = None, host: str = "127.0.0.1") -> None:
        """``port=None``: a free loopback port, chosen again if another process takes it first."""
        self.auto_port = port is None
        self.port = port or _free_port(host)
        self.unit, self.classes, self.security, self.host = unit, classes, security, host
        self.weight, self.stable = 0.0, True
        self.counts = dict.fromkeys(classes, 0)
        self.alarm_word = 0
        self.removed: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._nodes: dict[str, Any] = {}
        self._started_once = False

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> OpcUaPlant:
        if self._thread is None:
            ready = threading.Event()

            def loop_main() -> None:
                self._loop = asyncio.new_event_loop()
                ready.set()
                self._loop.run_forever()

            self._thread = threading.Thread(target=loop_main, name="opcua-sim", daemon=True)
            self._thread.start()
            ready.wait()
        for attempt in range(5):
            try:
                self._call(self._start())
                return self
            except OSError as exc:  # EADDRINUSE: a port picked free was taken meanwhile, or is still closing
                if exc.errno != errno.EADDRINUSE or attempt == 4:
                    raise
                if self.auto_port and self._server is None and not self._started_once:
                    self.port = _free_port(self.host)
                time.sleep(0.2)
        return self

    @property
    def url(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}/junkan/sim/"

    def stop(self) -> None:
        """Stop serving (connections drop); the plant state stays for a later ``start``."""
        if self._server is not None:
            self._call(self._stop())

    def close(self) -> None:
        self.stop()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
            self._thread, self._loop = None, None

    def __enter__(self) -> OpcUaPlant:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the plant --------------------------------------------------------------------------------
    def set_weight(self, value: float, stable: bool = True) -> None:
        """The scale shows ``value`` in its own unit."""
        self.weight, self.stable = value, stable
        self._write("Scale.NetWeight", float(value))
        self._write("Scale.WeightStable", bool(stable))

    def count(self, klass: str, n: int = 1) -> None:
        self.counts[klass] = (self.counts[klass] + n) % (1 << 32)
        self._write(f"Sorter.{klass}", self.counts[klass], "UInt32")

    def reset_counters(self) -> None:
        """A PLC restart that clears its counters."""
        for klass in self.counts:
            self.counts[klass] = 0
            self._write(f"Sorter.{klass}", 0, "UInt32")

    def set_alarm(self, bit: int, on: bool) -> None:
        self.alarm_word = self.alarm_word | 1 << bit if on else self.alarm_word & ~(1 << bit)
        self._write("Sorter.AlarmWord", self.alarm_word, "UInt16")
        self._write("Sorter.EmergencyStop", bool(self.alarm_word & 1))

    def remove(self, name: str) -> None:
        """Delete a node (e.g. ``Sorter.PP``) from the running server and from later restarts."""
        self.removed.add(name)
        node = self._nodes.pop(name, None)
        if node is not None and self._server is not None:
            self._call(self._server.delete_nodes([node], recursive=True))

    # -- asyncua ----------------------------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        assert self._loop is not None, "simulator not started"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def _write(self, name: str, value: Any, variant: str | None = None) -> None:
        node = self._nodes.get(name)
        if node is not None and self._server is not None:
            from asyncua import ua

            v = ua.Variant(value, getattr(ua.VariantType, variant)) if variant else value
            self._call(node.write_value(v))

    async def _start(self) -> None:
        from asyncua import Server, ua

        sec = self.security
        users: Any = _Users(sec.users) if sec else None  # duck-typed asyncua UserManager
        server = Server(user_manager=users)
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("junkan OPC UA plant simulator")
        await server.set_application_uri("urn:junkan:sim:opcua:server")
        if sec:
            await server.load_certificate(str(sec.certificate))
            await server.load_private_key(str(sec.private_key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            server.set_identity_tokens([ua.UserNameIdentityToken] if sec.users else [ua.AnonymousIdentityToken])
            if sec.trusted_clients:
                server.set_certificate_validator(await _trust_only(sec.trusted_clients))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await server.register_namespace(NAMESPACE)
        objects = server.nodes.objects
        scale = await objects.add_object(_nid("Scale", idx), _qn("Scale", idx))
        sorter = await objects.add_object(_nid("Sorter", idx), _qn("Sorter", idx))
        specs: list[tuple[Any, str, Any, Any]] = [
            (scale, "Scale.NetWeight", float(self.weight), ua.VariantType.Double),
            (scale, "Scale.WeightStable", self.stable, ua.VariantType.Boolean),
            *[(sorter, f"Sorter.{k}", self.counts[k], ua.VariantType.UInt32) for k in self.classes],
            (sorter, "Sorter.AlarmWord", self.alarm_word, ua.VariantType.UInt16),
            (sorter, "Sorter.EmergencyStop", bool(self.alarm_word & 1), ua.VariantType.Boolean),
        ]
        self._nodes = {}
        for parent, name, value, vtype in specs:
            if name in self.removed:
                continue
            node = await parent.add_variable(_nid(name, idx), _qn(name.split(".")[1], idx),
                                             ua.Variant(value, vtype))
            self._nodes[name] = node
        weight = self._nodes.get("Scale.NetWeight")
        if weight is not None and self.unit is not None:
            code = UNIT_CODES.get(self.unit, self.unit)  # an unknown unit is passed as its own "code"
            eu = ua.EUInformation(NamespaceUri=CEFACT, UnitId=unit_id(code),
                                  DisplayName=ua.LocalizedText(self.unit), Description=ua.LocalizedText(self.unit))
            await weight.add_property(_nid("Scale.NetWeight.EngineeringUnits", idx),
                                      _qn("EngineeringUnits", 0), eu)  # 0: the standard name
        await server.start()
        self._server = server
        self._started_once = True

    async def _stop(self) -> None:
        server, self._server = self._server, None
        self._nodes = {}
        await server.stop()


def _nid(name: str, idx: int) -> Any:
    from asyncua import ua

    return ua.NodeId(name, idx)  # type: ignore[arg-type]  # asyncua's NewType aliases of str/int


def _qn(name: str, idx: int) -> Any:
    from asyncua import ua

    return ua.QualifiedName(name, idx)  # type: ignore[arg-type]


async def _trust_only(paths: list[Path]) -> Any:
    """A certificate validator that accepts exactly these client certificates."""
    from asyncua import ua
    from asyncua.common.utils import ServiceError
    from asyncua.crypto import uacrypto

    trusted = set()
    for p in paths:
        trusted.add(uacrypto.der_from_x509(await uacrypto.load_certificate(str(p))))

    async def validate(certificate: Any, _app: Any) -> None:
        if uacrypto.der_from_x509(certificate) not in trusted:
            raise ServiceError(ua.StatusCodes.BadSecurityChecksFailed)

    return validate
