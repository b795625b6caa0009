"""systemd integration: sd_notify(3) heartbeats and the unit files of the agent and the gateway.

The notifier is a few bytes sent with ``socket.sendto`` to ``$NOTIFY_SOCKET`` (no dependency). Watchdog pings
are sent by whoever calls ``watchdog()``: the agent's core loop and the gateway's ingest loop call it on every
iteration, so a loop that hangs stops the pings and systemd (``WatchdogSec``) kills and restarts the service,
while a side thread that is still alive cannot hide the hang.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class Notifier:
    """sd_notify for this process; every method is a cheap no-op when not started by systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address  # '@': abstract namespace
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())  # the watchdog may be meant for a parent process
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None
        self._next_ping = 0.0
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *lines: str) -> bool:
        """One datagram of KEY=VALUE lines; False (never an exception) when it cannot be sent."""
        if not self.address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), self.address)
            return True
        except OSError:
            return False

    def ready(self, status: str | None = None) -> None:
        self.send("READY=1", *([f"STATUS={status}"] if status else []))
        self.watchdog(force=True)

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def watchdog(self, force: bool = False) -> None:
        """Ping at most every half watchdog interval (as sd_watchdog_enabled(3) advises); call it freely."""
        if self.watchdog_s is None:
            return
        now = time.monotonic()
        if force or now >= self._next_ping:
            self._next_ping = now + self.watchdog_s / 2
            self.send("WATCHDOG=1")


@dataclass(frozen=True)
class ServiceSpec:
    """What differs between the agent's and the gateway's unit."""

    name: str  # unit file name without .service
    command: str  # agent | gateway
    description: str
    exec_start: str
    user: str = "junkan"
    watchdog_s: int = 30
    groups: tuple[str, ...] = ()  # e.g. dialout for serial scales
    state_dir: str = "junkan"  # under /var/lib


def unit_file(spec: ServiceSpec) -> str:
    """A hardened Type=notify unit: read-only root except /var/lib/<state_dir>, journal logging."""
    state = f"/var/lib/{spec.state_dir}"
    groups = f"SupplementaryGroups={' '.join(spec.groups)}\n" if spec.groups else ""
    return f"""# Written by `junkan {spec.command} install-service`; see README "Running as a service".
[Unit]
Description={spec.description}
Wants=network-online.target
After=network-online.target
# Keep restarting however often it fails: the watchdog and Restart= are what bring it back.
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
ExecStart={spec.exec_start}
# The main loop pings every WatchdogSec/2; a hung loop is killed (SIGABRT) and restarted.
WatchdogSec={spec.watchdog_s}
Restart=always
RestartSec=5
TimeoutStopSec=30
User={spec.user}
Group={spec.user}
{groups}StateDirectory={spec.state_dir}
StateDirectoryMode=0750
WorkingDirectory={state}
Environment=PYTHONUNBUFFERED=1
StandardOutput=journal
StandardError=journal
SyslogIdentifier={spec.name}
# Read-only file system except the state directory (outbox, gateway database, keys).
ProtectSystem=strict
ReadWritePaths={state}
ProtectHome=read-only
PrivateTmp=yes
NoNewPrivileges=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes

[Install]
WantedBy=multi-user.target
"""


def write_unit(spec: ServiceSpec, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{spec.name}.service"
    path.write_text(unit_file(spec), encoding="utf-8")
    return path


def next_steps(spec: ServiceSpec, path: Path) -> str:
    """What an operator runs after the file is written (printed, never executed by junkan)."""
    return (f"wrote {path}\nnext (as root):\n"
            f"  id {spec.user} || useradd --system --home-dir /var/lib/{spec.state_dir} --shell /usr/sbin/nologin "
            f"{spec.user}\n"
            f"  systemctl daemon-reload && systemctl enable --now {spec.name}.service\n"
            f"  journalctl -u {spec.name} -f")


def exec_line(python: str, *args: str) -> str:
    """An ExecStart= command line; arguments with spaces are double-quoted as systemd.service(5) allows."""
    return " ".join(f'"{a}"' if any(c.isspace() for c in a) else a for a in (python, "-m", "junkan.cli", *args))


def under_state_dir(path: str, state_dir: str = "junkan") -> bool:
    """Whether the service may write ``path``: relative paths resolve in WorkingDirectory=/var/lib/<dir>."""
    p = Path(path)
    return not p.is_absolute() or p.resolve().is_relative_to(Path("/var/lib") / state_dir)


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    """The options both `install-service` commands share."""
    p.add_argument("--config", required=True, help="Config file the service runs with (validated now).")
    p.add_argument("--dest", default="/etc/systemd/system", help="Where to write the unit (default %(default)s).")
    p.add_argument("--name", default=name, help="Unit name, e.g. junkan-agent-line2 for a second agent.")
    p.add_argument("--user", default="junkan", help="Dedicated system user the service runs as.")
    p.add_argument("--watchdog-sec", type=int, default=30, help="WatchdogSec=: a loop silent this long is restarted.")
    p.add_argument("--python", default=sys.executable, help="Interpreter of the venv junkan is installed in.")
