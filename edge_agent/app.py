"""Agent start-up, in order. Reads like a table of contents; the parts live in their modules."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path

from edge_agent.clock import WallClock, use_wall_clock, wall_now
from edge_agent.config import AgentConfig, ConfigError
from edge_agent.core import AgentCore
from edge_agent.drivers import DRIVERS, missing_requirements
from edge_agent.drivers.base import DeviceReading, Runner
from edge_agent.metrics import AgentCollector, serve_metrics
from edge_agent.publishing.mqtt_publisher import MqttPublisher
from edge_agent.publishing.outbox import SqliteOutbox
from junkan.core.ids import new_id
from junkan.core.locks import FileLock, lock_file_for
from junkan.core.messages import DeviceHealth, SoftwareVersions, StatusMessage
from junkan.core.systemd import Notifier
from junkan.core.topics import AgentTopics
from junkan.core.version import release, wire_schemas

log = logging.getLogger("junkan.agent")
SIMULATION_ENV = "JUNKAN_SIMULATION"  # set by the simulated plant (junkan.plant) for the processes it starts


def run_agent(config: AgentConfig, stop: threading.Event | None = None,
              capture: dict[str, Path] | None = None) -> int:
    stop = stop or threading.Event()
    missing = missing_requirements(config.devices)  # 0. every configured driver can run on this machine
    if missing:
        raise ConfigError("; ".join(missing))
    wall = use_wall_clock(_wall_clock(config))
    session = new_id()  # 1. a new session id for this process: lets consumers tell restarts apart
    topics = AgentTopics(config.site, config.line, config.agent)
    lock = FileLock(lock_file_for(config.outbox.path)).acquire()  # 2. one agent per outbox (else Busy)
    outbox = SqliteOutbox(Path(config.outbox.path), config.outbox.max_messages, config.outbox.max_bytes)
    if config.outbox.commit_interval_s > 0:  # SD card: acked rows leave with the next group commit
        outbox.purge_with_writes, outbox.delete_interval_s = True, max(5.0, 3 * config.outbox.commit_interval_s)
    core = AgentCore(config, outbox, topics, session)  # 3. lots and counters, resumed from the outbox
    if outbox.recovered_from:
        core.alarms.append(f"outbox was corrupt: moved to {outbox.recovered_from}; counters restarted")
    runners = {d.name: DRIVERS[d.type].runner(d, (capture or {}).get(d.name)) for d in config.devices}
    by_type = {d.name: d.type for d in config.devices}
    for name, runner in runners.items():  # resumable sources continue after what the outbox holds
        if DRIVERS[by_type[name]].resumable and name in core.checkpoints:
            runner.checkpoint = core.checkpoints[name]  # type: ignore[attr-defined]
    publisher = MqttPublisher(  # 4. delivery: outbox -> broker, retired on the gateway's ack
        config.mqtt, topics, outbox,
        status=lambda state: build_status(config, topics, session, state, runners, core, outbox),
        on_command=core.submit_command,
        window=config.outbox.window, ack_timeout_s=config.outbox.ack_timeout_s,
        status_interval_s=config.status_interval_s,
    )
    core.on_enqueued = publisher.wake
    publisher.start()
    if config.metrics_port is not None:  # observability: /metrics for Prometheus
        serve_metrics(config.metrics_port, AgentCollector(runners, outbox, publisher.stats, lambda: core.alarms),
                      host=config.metrics_host)
    threads = [start_device(name, runner, core, stop) for name, runner in runners.items()]  # 5. devices
    install_signal_handlers(stop)
    log.info("agent %s on %s/%s running with %d device(s), session %s",
             config.agent, config.site, config.line, len(runners), session)
    notifier = Notifier()  # systemd Type=notify: ready now; the core loop pings the watchdog
    core.on_tick = notifier.watchdog
    notifier.ready(f"{len(runners)} device(s)")
    core.run(stop)  # 6. until SIGTERM/SIGINT
    notifier.stopping()
    for thread in threads:  # 7. orderly shutdown: devices, last batch, deliver what we can
        thread.join(timeout=3)
    publisher.stop(drain_s=2.0)
    outbox.close()
    lock.release()
    log.info("agent stopped")
    use_wall_clock(wall)
    return 0


def _wall_clock(config: AgentConfig) -> WallClock:
    """The machine's clock; in a simulated plant, offset as the scenario's ``clock_step`` fault says."""
    if config.simulation is None:
        return WallClock()
    if os.environ.get(SIMULATION_ENV) != "1":  # simulation hooks move the clock: never in a plant by accident
        raise ConfigError(f"simulation: this section is for simulated plants only (set {SIMULATION_ENV}=1)")
    return WallClock(config.simulation.clock_offset_file)


def start_device(name: str, runner: Runner, core: AgentCore, stop: threading.Event) -> threading.Thread:
    def emit(reading: DeviceReading) -> None:
        core.submit_reading(name, reading)

    thread = threading.Thread(target=runner.run, args=(emit, stop), name=f"device-{name}", daemon=True)
    thread.start()
    return thread


def build_status(config: AgentConfig, topics: AgentTopics, session: str, state: str,
                 runners: dict[str, Runner], core: AgentCore, outbox: SqliteOutbox) -> StatusMessage:
    by_name = {d.name: d for d in config.devices}
    devices = [
        DeviceHealth(
            device=name, driver=by_name[name].type,
            state=r.counters.state(by_name[name].stale_after_s) if state == "online" else "stale",
            last_reading_at=r.counters.last_reading_at, frames_ok=r.counters.frames_ok,
            frames_bad=r.counters.frames_bad, reconnects=r.counters.reconnects, last_error=r.counters.last_error,
        )
        for name, r in runners.items()
    ]
    trouble: list[str] = []
    try:
        depth, age = outbox.depth()
        outbox_schema: int | None = outbox.schema_version()
    except Exception as exc:  # status must be buildable even when the disk is in trouble
        depth, age, outbox_schema = 0, 0.0, None
        trouble = [f"outbox unreadable: {exc}"]  # said in words: a depth of 0 here is not a measurement
    return StatusMessage(
        agent=topics.agent, site=topics.site, line=topics.line, session=session,
        state="online" if state == "online" else "offline", at=wall_now(), devices=devices,
        outbox_depth=depth, outbox_oldest_age_s=round(age, 3), open_lot=core.live_lot() if state == "online" else None,
        clock=core.clock_status,
        alarms=[*core.alarms, *trouble,
                *(f"{name}: {r.counters.alarm}" for name, r in runners.items() if r.counters.alarm)],
        versions=SoftwareVersions(release=release(), wire=list(wire_schemas()), outbox_schema=outbox_schema),
    )


def install_signal_handlers(stop: threading.Event) -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
