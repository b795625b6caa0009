"""Watch an export folder: each file is read once, only when complete, and restarts remember it all.

A file is read once its size and mtime have not changed for ``settle_s`` (a half-written export waits).
Even then only complete lines are taken, plus a last unterminated line if it decodes as a full reading,
so an exporter that pauses mid-line is picked up later, not cut. When a file grows (an export appended
to), the new part is read: the file is decoded again from the start and the items already delivered are
skipped. What was read lives in a small JSON state file (atomically replaced), so a restart neither
re-sends nor loses files. Delivery is at-least-once: a crash between delivering a file's readings and
saving the state re-sends that file's readings after the restart.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.clock import wall_now
from edge_agent.drivers.base import BadFrame, Decoded, Decoder, DeviceCounters, DeviceReading, Emit, log
from edge_agent.drivers.serial_port import Capture


class FolderWatchConfig(BaseModel):
    """A folder an instrument (or its PC software) exports result files into."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Folder to watch (e.g. a network share the analyser's PC exports to).")
    pattern: str = Field(default="*.csv", description="Glob of files to read, relative to the folder.")
    settle_s: float = Field(default=2.0, ge=0, description="A file must be unchanged this long before reading.")
    poll_interval_s: float = Field(default=1.0, gt=0, description="Seconds between folder scans.")
    state_path: str | None = Field(
        default=None,
        description="JSON file remembering what was read (default: <folder>/.junkan-<device>.state.json).",
    )


class FolderState:
    """Per file: bytes consumed and items (readings + bad frames) already delivered."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, dict[str, int]] = {}
        try:
            self.files = json.loads(path.read_text(encoding="utf-8")).get("files", {})
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:  # unreadable state: start over rather than stop
            log.error("folder state %s unreadable (%s); files will be read again", path, exc)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"files": self.files}, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


def split_complete(data: bytes, decoder_factory: Callable[[], Decoder]) -> tuple[int, list[Decoded]]:
    """Decode the complete part of a file: (bytes consumed, items). Pure."""
    nl = data.rfind(b"\n")
    head, tail = data[: nl + 1], data[nl + 1 :]
    decoder = decoder_factory()
    items = decoder.feed(head)
    if tail.strip():
        more = decoder.feed(tail + b"\n")
        if more and all(isinstance(i, DeviceReading) for i in more):
            return len(data), items + more
    return len(head), items


class FolderRunner:
    """Scans the folder, hands complete new content to the decoder, emits with ``source_file`` set."""

    def __init__(self, config: FolderWatchConfig, decoder_factory: Callable[[], Decoder], device: str,
                 capture_path: Path | None = None) -> None:
        self.config, self.decoder_factory = config, decoder_factory
        self.folder = Path(config.path)
        self.state_path = Path(config.state_path) if config.state_path else \
            self.folder / f".junkan-{device}.state.json"
        self.capture_path = capture_path
        self.counters = DeviceCounters()
        self._seen: dict[str, tuple[int, int, float]] = {}  # name -> (size, mtime_ns, since)

    def send(self, command: bytes) -> None:
        """Folder sources take no commands."""

    def run(self, emit: Emit, stop: threading.Event) -> None:
        state = FolderState(self.state_path)
        capture = Capture(self.capture_path) if self.capture_path else None
        try:
            while not stop.is_set():
                try:
                    self.scan(state, emit, capture)
                    self.counters.connected = True
                except OSError as exc:
                    self.counters.fail(f"folder {self.folder}: {exc}")
                stop.wait(self.config.poll_interval_s)
        finally:
            if capture:
                capture.close()

    def scan(self, state: FolderState, emit: Emit, capture: Capture | None = None) -> int:
        """One pass over the folder; returns how many files were (re)read."""
        if not self.folder.is_dir():
            raise FileNotFoundError(f"not a folder: {self.folder}")
        now, done = time.monotonic(), 0
        present = set()
        for path in sorted(self.folder.glob(self.config.pattern)):
            if not path.is_file() or path.name.startswith(".junkan-"):
                continue
            name = path.relative_to(self.folder).as_posix()
            present.add(name)
            st = path.stat()
            record = state.files.get(name)
            if record and record["size"] == st.st_size and record["mtime_ns"] == st.st_mtime_ns:
                continue
            size, mtime, since = self._seen.get(name, (-1, -1, now))
            if (size, mtime) != (st.st_size, st.st_mtime_ns):
                self._seen[name] = (st.st_size, st.st_mtime_ns, now)
                if self.config.settle_s > 0:
                    continue
            elif now - since < self.config.settle_s:
                continue
            self._read(path, name, state, emit, capture)
            done += 1
        for name in set(state.files) - present:  # forget deleted files
            del state.files[name]
        return done

    def _read(self, path: Path, name: str, state: FolderState, emit: Emit, capture: Capture | None) -> None:
        data = path.read_bytes()
        st = path.stat()
        record = state.files.get(name, {"consumed": 0, "items": 0})
        if len(data) < record["consumed"]:  # replaced by a shorter file: a new export
            record = {"consumed": 0, "items": 0}
        consumed, items = split_complete(data, self.decoder_factory)
        if capture and consumed > record["consumed"]:
            capture.write("rx", data[record["consumed"] : consumed])
        for item in items[record["items"] :]:
            self._deliver(item, name, emit)
        state.files[name] = {"consumed": consumed, "items": max(len(items), record["items"]),
                             "size": st.st_size if consumed == len(data) else -1,
                             "mtime_ns": st.st_mtime_ns}
        state.save()
        self._seen.pop(name, None)

    def _deliver(self, item: Decoded, name: str, emit: Emit) -> None:
        if isinstance(item, BadFrame):
            self.counters.frames_bad += 1
            self.counters.last_error = f"{name}: {item.reason}"
            log.warning("bad row in %s: %s", name, item.reason)
            return
        self.counters.frames_ok += 1
        self.counters.last_reading_at = wall_now()
        emit(dataclasses.replace(item, data={**item.data, "source_file": name}))

