"""A plant in a box: private broker, gateway and agent processes, device simulators in threads.

Used by `junkan demo`, by the scenario runner and by the end-to-end tests, so they all exercise the
same real processes: `junkan gateway serve` and `junkan agent run` as subprocesses, Mosquitto on a free
loopback port, simulators on PTYs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from junkan.broker import Mosquitto, die_with_parent, free_port, wait_for_port
from junkan.core.overrides import apply_overrides

REPO_CONFIGS = Path(__file__).resolve().parent.parent / "firmware_configs"


class Service:
    """One `junkan ...` subprocess with its log file; can be killed and started again."""

    def __init__(self, name: str, args: list[str], workdir: Path, bound_to_parent: bool = False) -> None:
        self.name, self.args, self.workdir = name, args, workdir
        self.bound_to_parent = bound_to_parent
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        log = self.log_path.open("ab")
        # JUNKAN_SIMULATION: a simulated plant; the agent accepts its config's `simulation` section (edge_agent.app)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "JUNKAN_SIMULATION": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "junkan.cli", *self.args], cwd=self.workdir,
                                     stdout=log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=die_with_parent(self.bound_to_parent))
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()


class Plant:
    def __init__(self, workdir: Path, line_config: Path | None = None, api_port: int | None = None,
                 db_url: str | None = None, die_with_parent: bool = False) -> None:
        """``db_url``: the gateway's store (default the SQLite file ``workdir/gateway.db``; tests pass a
        PostgreSQL URL to run the same plant on the other backend). ``die_with_parent``: every child gets
        SIGTERM from the kernel if this process dies (demo and scenarios; they start it from the main thread)."""
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.line_config = line_config or REPO_CONFIGS / "lines" / "demo_line.yaml"
        self.api_port = api_port or free_port()
        self.bound = die_with_parent
        self.broker = Mosquitto(self.workdir / "broker", bound_to_parent=die_with_parent)
        self.stop_event = threading.Event()
        self.gateway: Service | None = None
        self.agents: list[Service] = []
        self.db_url = db_url or f"sqlite:///{self.db_path}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "gateway.db"

    def start_broker(self) -> None:
        self.broker.start()

    def start_gateway(self, extra: list[str] | None = None) -> Service:
        args = ["gateway", "serve", "--set", f"mqtt.port={self.broker.port}", "--set", f"api.port={self.api_port}",
                "--set", f"db_url={self.db_url}", *(extra or [])]
        self.gateway = Service("gateway", args, self.workdir, self.bound).start()
        wait_for_port(self.api_port, timeout=30)
        return self.gateway

    def agent_config(self, ports: dict[str, str], name: str = "agent.yaml",
                     overrides: dict[str, Any] | None = None) -> Path:
        """Write the line config with the simulator ports and the private broker filled in.

        ``overrides`` maps dotted keys to values, e.g. ``{"devices.0.poll_interval_s": 0.05}``."""
        config = yaml.safe_load(self.line_config.read_text(encoding="utf-8"))
        apply_overrides(config, overrides)
        config["mqtt"]["port"] = self.broker.port
        config["outbox"]["path"] = str(self.workdir / f"{config['agent']}-outbox.db")
        for device in config["devices"]:
            if device["name"] in ports:
                device["port"]["url"] = ports[device["name"]]
        path = self.workdir / name
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return path

    def start_agent(self, config_path: Path, name: str = "agent") -> Service:
        service = Service(name, ["agent", "run", "--config", str(config_path)], self.workdir,
                          self.bound).start()
        self.agents.append(service)
        return service

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.api + path, timeout=10) as resp:
            return json.loads(resp.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        req = urllib.request.Request(self.api + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def wait_for(self, predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        last_exc: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except Exception as exc:  # gateway restarting, etc.
                last_exc = exc
            time.sleep(0.2)
        raise TimeoutError(f"timed out waiting for {what} ({last_exc})")

    def wait_agent_online(self, agent: str, timeout: float = 30) -> None:
        self.wait_for(lambda: any(a["agent"] == agent and a["state"] == "online" for a in self.get("/api/v1/agents")),
                      timeout, f"agent {agent} online at the gateway")

    def stop(self) -> None:
        self.stop_event.set()
        for agent in self.agents:
            agent.stop()
        if self.gateway:
            self.gateway.stop()
        self.broker.stop()
