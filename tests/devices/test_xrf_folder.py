"""The XRF folder watcher: each export read once and only when complete; restarts remember; appends read."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from edge_agent.drivers import vanta_csv
from edge_agent.drivers.base import DeviceReading
from edge_agent.drivers.folder_watch import FolderRunner, FolderState, FolderWatchConfig
from simulators.xrf.exporter import XrfExporter, encode_file
from simulators.xrf.samples import export_file, random_sample


def watcher(folder: Path, state: Path, settle_s: float = 0.0) -> FolderRunner:
    config = FolderWatchConfig(path=str(folder), settle_s=settle_s, poll_interval_s=0.05, state_path=str(state))
    return FolderRunner(config, vanta_csv.decoder, "xrf")


def scan(runner: FolderRunner, state: FolderState) -> list[DeviceReading]:
    got: list[DeviceReading] = []
    runner.scan(state, got.append)
    return got


def test_each_file_once_and_restart_remembers(tmp_path: Path) -> None:
    import random

    folder, state_path = tmp_path / "exports", tmp_path / "var" / "xrf.state.json"
    folder.mkdir()
    rng = random.Random(4)
    samples = [random_sample(rng, n) for n in range(1, 4)]
    for s in samples:
        export_file(folder / f"r{s.reading_no}.csv", encode_file("vanta", [s]))
    runner, state = watcher(folder, state_path), FolderState(state_path)
    got = scan(runner, state)
    assert sorted(r.data["reading_no"] for r in got) == [1, 2, 3]
    assert {r.data["source_file"] for r in got} == {"r1.csv", "r2.csv", "r3.csv"}
    for r in got:
        truth = samples[r.data["reading_no"] - 1]
        for el, ppm in truth.ppm.items():
            assert r.data["elements"][el]["ppm"] == ppm
            assert r.data["elements"][el]["below_lod"] == (ppm is None)
    assert scan(runner, state) == []  # nothing new
    restarted = watcher(folder, state_path)  # a new process with the same state file
    assert scan(restarted, FolderState(state_path)) == []
    s4 = random_sample(rng, 4)
    export_file(folder / "r4.csv", encode_file("vanta", [s4]))
    assert [r.data["reading_no"] for r in scan(restarted, FolderState(state_path))] == [4]


def test_half_written_file_waits_until_complete(tmp_path: Path) -> None:
    import random

    folder = tmp_path / "exports"
    folder.mkdir()
    data = encode_file("vanta", [random_sample(random.Random(1), n) for n in (1, 2)])
    cut = data[: data.rindex(b"\r\n", 0, len(data) - 2) + 30]  # row 2 cut in the middle
    (folder / "a.csv").write_bytes(cut)
    runner = watcher(folder, tmp_path / "s.json", settle_s=0.3)
    state = FolderState(tmp_path / "s.json")
    assert scan(runner, state) == []  # just appeared: not settled yet
    time.sleep(0.35)
    first = scan(runner, state)  # settled but row 2 is incomplete: only row 1
    assert [r.data["reading_no"] for r in first] == [1]
    assert runner.counters.frames_bad == 0
    (folder / "a.csv").write_bytes(data)  # the exporter finishes
    assert scan(runner, state) == []
    time.sleep(0.35)
    assert [r.data["reading_no"] for r in scan(runner, state)] == [2]
    assert runner.counters.frames_bad == 0


def test_runner_thread_with_exporter(tmp_path: Path) -> None:
    """The runner in its own thread next to a simulated operator exporting one file per reading."""
    folder = tmp_path / "exports"
    exporter = XrfExporter(folder, "vanta", interval_s=0.05, seed=2)
    runner = watcher(folder, tmp_path / "s.json", settle_s=0.1)
    got: list[DeviceReading] = []
    stop = threading.Event()
    folder.mkdir()
    t = threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)
    t.start()
    exporter.run(threading.Event(), count=8)
    deadline = time.monotonic() + 10
    while len(got) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    t.join(timeout=5)
    assert sorted(r.data["reading_no"] for r in got) == list(range(1, 9))
    assert runner.counters.frames_ok == 8 and runner.counters.connected


def test_line_stream_keeps_the_header_across_reconnects() -> None:
    """Niton-style serial output: the header comes once; after a reconnect rows still decode."""
    import random

    from edge_agent.drivers import niton_csv
    from simulators.pty_port import PtyPort
    from simulators.xrf.niton_csv import niton_header, niton_row

    port = PtyPort()
    config = niton_csv.NitonCsvConfig.model_validate(
        {"name": "xrf", "type": "niton_csv", "port": {"url": port.path, "no_data_timeout_s": 1.0}})
    runner = niton_csv.runner(config)
    got: list[DeviceReading] = []
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(got.append, stop), daemon=True)
    thread.start()
    rng = random.Random(7)
    deadline = time.monotonic() + 5
    while not runner.counters.connected and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    port.write((niton_header() + niton_row(random_sample(rng, 1))).encode())
    while runner.counters.reconnects < 1 and time.monotonic() < deadline + 5:  # silence -> reopen
        time.sleep(0.05)
    time.sleep(0.9)  # reopened after the 0.5 s backoff, well before the next 1 s silence timeout
    port.write(niton_row(random_sample(rng, 2)).encode())
    while len(got) < 2 and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=5)
    port.close()
    assert runner.counters.reconnects >= 1
    assert [r.data["reading_no"] for r in got if r.kind == "xrf"] == [1, 2]
    assert all(e["sigma"] == 2.0 for r in got for e in r.data["elements"].values())
