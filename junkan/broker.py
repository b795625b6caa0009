"""A private Mosquitto on a free loopback port, for the demo, scenarios and tests.

Never the system broker on 1883: the process is ours, with its own config file, so tests can kill -9
and restart it. Queue and in-flight limits are ``junkan.core.mqtt``'s (the generated production config uses
the same): Mosquitto's default queue of 1000 silently drops QoS1 messages for a slow consumer (the
end-to-end acks would catch it, but at a cost).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from junkan.core.mqtt import BROKER_MAX_INFLIGHT_MESSAGES, BROKER_MAX_QUEUED_MESSAGES
from junkan.core.net import free_port, wait_for_port

__all__ = ["Mosquitto", "die_with_parent", "free_port", "mosquitto_binary", "wait_for_port"]

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: the child only makes one call


def _pdeathsig() -> None:
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def die_with_parent(enabled: bool) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies (even by SIGKILL).

    Why: `junkan demo` killed hard must not leave a broker, gateway or agent behind. The kernel sends it
    when the *thread* that forked exits, so only plants started from a long-lived (main) thread enable it."""
    return _pdeathsig if enabled else None


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None)
    if not found:
        raise FileNotFoundError("mosquitto not found: run `make install` (installs Debian's mosquitto package)")
    return found


class Mosquitto:
    def __init__(self, workdir: Path, port: int | None = None, persistence: bool = False, extra_conf: str = "",
                 conf_path: Path | None = None, bound_to_parent: bool = False) -> None:
        """``conf_path``: run a ready-made config (e.g. from `junkan gateway mqtt-config`) as it is;
        ``bound_to_parent``: the broker gets SIGTERM when this process dies (see ``die_with_parent``)."""
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.persistence = persistence
        self.extra_conf = extra_conf
        self.own_conf = conf_path is None
        self.conf_path = conf_path or self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.bound_to_parent = bound_to_parent

    def write_conf(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"max_queued_messages {BROKER_MAX_QUEUED_MESSAGES}",
            f"max_inflight_messages {BROKER_MAX_INFLIGHT_MESSAGES}",  # see junkan/core/mqtt.py
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 5",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self.bound_to_parent and os.geteuid() == 0:
            # Run as root, Mosquitto switches to user 'mosquitto'; the credential change clears
            # PR_SET_PDEATHSIG, and the broker would outlive a killed demo. 'user root' = no switch.
            lines.append("user root")
        self.conf_path.write_text("\n".join(lines) + "\n" + self.extra_conf, encoding="utf-8")

    def start(self) -> Mosquitto:
        if self.own_conf:
            self.write_conf()
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(self.conf_path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent(self.bound_to_parent))
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start with {self.conf_path}; see its log") from None
        return self

    def kill(self) -> None:
        """SIGKILL: the crash case (no persistence snapshot written)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port can linger for a moment after a kill
            try:
                self.start()
                return
            except RuntimeError:
                time.sleep(0.2)
        raise RuntimeError("mosquitto did not come back")

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
