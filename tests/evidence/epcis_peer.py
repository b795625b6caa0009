"""A small EPCIS 2.0 capture repository and webhook receiver on loopback, for the upload worker tests.

It behaves as a repository does (EPCIS 2.0 §12 capture interface): ``POST …/capture`` answers 202 with a
``Location`` of a capture job, ``GET`` on the job answers ``running`` once and then the outcome. Like a
real repository it recognises an event it already holds by its content (the hash of the event's canonical
JSON, eventID included), so what it counts is independent of the gateway's own bookkeeping: documents
received, events new, events seen before. Faults are chosen by the URL's first path segment:

- ``/ok/...``: accept;  ``/e400/...``: 400 ValidationException;  ``/e500/...``: 500 always;
- ``/fixed/...``: 400 while ``broken`` is set, then accept (a repository whose configuration was fixed);
- ``/flaky/...``: 503 for the first ``flaky`` POSTs, then accept;  ``/slow/...``: answer after ``slow_s``;
- ``/hold/...``: record the document, then hold the answer until ``release`` is set (a sender killed while
  it waits never learns the outcome).
Webhooks: ``POST /hook/...`` 204 (``/hook404/...``: 404). UNTP credentials: ``POST /untp/...`` 201.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def event_hash(event: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class Peer:
    flaky: int = 0
    broken: bool = True
    slow_s: float = 0.0
    hold_delay_s: float = 0.0  # /hold/: answer after this long (0: hold until ``release``)
    release: threading.Event = field(default_factory=threading.Event)
    received: threading.Event = field(default_factory=threading.Event)  # set on every accepted capture
    docs: list[tuple[str, bytes]] = field(default_factory=list)  # (path, body) of every capture POST answered
    events: Counter[str] = field(default_factory=Counter)  # event hash -> times received
    hooks: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    credentials: list[tuple[str, bytes]] = field(default_factory=list)  # (Content-Type, body) of UNTP POSTs
    requests: Counter[str] = field(default_factory=Counter)  # first path segment -> POSTs
    in_flight: Counter[str] = field(default_factory=Counter)  # body hash -> requests being answered now
    max_in_flight: int = 0  # the most requests for one body at the same time, ever
    jobs: dict[int, int] = field(default_factory=dict)  # job -> polls so far
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = ""

    @property
    def new_events(self) -> int:
        return len(self.events)

    @property
    def repeated_events(self) -> int:
        return sum(n - 1 for n in self.events.values())

    def capture_docs(self, segment: str) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for path, body in self.docs if path.split("/")[1] == segment]


def reply(handler: BaseHTTPRequestHandler, code: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
    """A JSON answer (no body when ``body`` is None); a sender that gave up or was killed is not an error."""
    raw = json.dumps(body).encode() if body is not None else b""
    handler.send_response(code)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    try:
        handler.end_headers()
        handler.wfile.write(raw)
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True


class JsonHandler(BaseHTTPRequestHandler):
    """Quiet, JSON answers, the request body read whole."""

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        reply(self, code, body, headers)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))


def _handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self._body()
            segment = self.path.split("/")[1]
            digest = hashlib.sha256(body).hexdigest()
            with peer.lock:
                peer.requests[segment] += 1
                peer.in_flight[digest] += 1
                peer.max_in_flight = max(peer.max_in_flight, peer.in_flight[digest])
            try:
                self._post(segment, body)
            finally:
                with peer.lock:
                    peer.in_flight[digest] -= 1

        def _post(self, segment: str, body: bytes) -> None:
            if segment == "untp":
                with peer.lock:
                    peer.credentials.append((self.headers.get("Content-Type", ""), body))
                return self._send(201, {"stored": True})
            if segment in ("hook", "hook404"):
                with peer.lock:
                    peer.hooks.append((self.path, dict(self.headers), body))
                time.sleep(0.02)
                return self._send(204 if segment == "hook" else 404, None if segment == "hook" else {"e": "gone"})
            if self.headers.get("GS1-EPCIS-Version") != "2.0.0":
                return self._send(406, {"type": "epcisException:NotAcceptableException"})
            if segment == "e400" or (segment == "fixed" and peer.broken):
                return self._send(400, {"type": "epcisException:ValidationException", "title": "eventTime missing"})
            if segment == "e500":
                return self._send(500, {"title": "database down"})
            with peer.lock:
                if segment == "flaky" and peer.flaky > 0:
                    peer.flaky -= 1
                    return self._send(503, {"title": "busy"})
            if segment == "slow":
                time.sleep(peer.slow_s)
            doc = json.loads(body)
            with peer.lock:
                peer.docs.append((self.path, body))
                for event in doc["epcisBody"]["eventList"]:
                    peer.events[event_hash(event)] += 1
                job = len(peer.docs)
                peer.jobs[job] = 0
            peer.received.set()
            if segment == "hold":
                if peer.hold_delay_s:
                    time.sleep(peer.hold_delay_s)
                else:
                    peer.release.wait(30)
            time.sleep(0.02)  # a request takes a moment: two senders of one row would overlap here
            return self._send(202, headers={"Location": f"/{segment}/capture/{job}"})

        def do_GET(self) -> None:
            try:
                job = int(self.path.rsplit("/", 1)[1])
            except ValueError:
                return self._send(404, {"title": "no such job"})
            with peer.lock:
                if job not in peer.jobs:
                    return self._send(404, {"title": "no such job"})
                peer.jobs[job] += 1
                running = peer.jobs[job] == 1
            return self._send(200, {"running": running, "success": True, "captureID": str(job),
                                    "captureErrorBehaviour": "rollback", "errors": []})

    return Handler


@contextmanager
def serve_peer() -> Iterator[Peer]:
    peer = Peer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(peer))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    peer.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield peer
    finally:
        peer.release.set()
        server.shutdown()
        server.server_close()
