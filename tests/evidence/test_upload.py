"""EPCIS capture client and recycler webhooks against small endpoints started here (loopback only)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.evidence.keys import active, generate
from gateway.evidence.signing import verify_token
from gateway.store.db import Database
from gateway.upload import outbox
from gateway.upload.publish import publish_evidence
from gateway.upload.sender import Sender, register_webhook, webhook_signature
from tests.evidence.epcis_peer import JsonHandler

SECRET = "s3cret-for-recycler-a"


class Endpoint:
    """A capture endpoint (POST /capture -> 202, GET /capture/{id}) and a webhook receiver, with scripted faults."""

    def __init__(self) -> None:
        self.fail_next = 0  # answer 503 this many times
        self.polls_running = 1
        self.reject = False
        self.captures: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.hooks: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()


def handler_for(ep: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self._body()
            with ep.lock:
                if ep.fail_next:
                    ep.fail_next -= 1
                    return self._send(503, {"title": "busy"})
                if self.path == "/hook":
                    ep.hooks.append((dict(self.headers), body))
                    return self._send(204)
                if self.headers.get("GS1-EPCIS-Version") != "2.0.0":
                    return self._send(406, {"title": "version"})
                if ep.reject:
                    return self._send(400, {"type": "epcisException:ValidationException", "title": "bad"})
                ep.captures.append(json.loads(body))
                ep.headers.append(dict(self.headers))
                return self._send(202, headers={"Location": f"/capture/{len(ep.captures)}"})

        def do_GET(self) -> None:
            with ep.lock:
                if ep.polls_running:
                    ep.polls_running -= 1
                    return self._send(200, {"running": True, "success": True, "captureErrorBehaviour": "rollback"})
            return self._send(200, {"running": False, "success": True, "captureErrorBehaviour": "rollback"})

    return Handler


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, str]]:
    ep = Endpoint()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(ep))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ep, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def world(plant: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    generate(tmp_path / "keys", {"name": "Plant A", "id": "did:web:plant-a.example"})
    store = plant["store"]
    store.db.execute("UPDATE lots SET recycler = 'recycler-a' WHERE lot_id = 'PP-OUT-1'")
    return {**plant, "keys": tmp_path / "keys"}


def test_capture_with_retry_and_job_polling(world: dict[str, Any], endpoint: tuple[Endpoint, str]) -> None:
    ep, base = endpoint
    db: Database = world["db"]
    ep.fail_next = 2
    queued = publish_evidence(world["store"], "PP-OUT-1", world["keys"], base)
    again = publish_evidence(world["store"], "PP-OUT-1", world["keys"], base)
    assert queued["epcis"] == again["epcis"]  # same events: queued once
    with httpx.Client(timeout=5) as client:
        counts = Sender(db, client, backoff_base_s=0.01).run_until_idle(20)
    assert counts.get("retry") == 2 and counts.get("done") == 1
    (row,) = outbox.rows(db)
    assert row.state == "done" and row.job_url == f"{base}/capture/1"
    assert ep.headers[0]["GS1-EPCIS-Version"] == "2.0.0" and ep.headers[0]["GS1-CBV-Version"] == "2.0.0"
    assert ep.captures[0]["type"] == "EPCISDocument" and ep.captures[0]["epcisBody"]["eventList"]


def test_permanent_refusal_is_not_retried(world: dict[str, Any], endpoint: tuple[Endpoint, str]) -> None:
    ep, base = endpoint
    ep.reject = True
    publish_evidence(world["store"], "PP-OUT-1", world["keys"], base)
    with httpx.Client(timeout=5) as client:
        Sender(world["db"], client, backoff_base_s=0.01).run_until_idle(10)
    (row,) = outbox.rows(world["db"])
    assert row.state == "failed" and "HTTP 400" in row.last_error and row.attempts == 1


def test_endpoint_down_keeps_row_for_later(world: dict[str, Any]) -> None:
    publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9")  # nothing listens
    with httpx.Client(timeout=1) as client:
        counts = Sender(world["db"], client, backoff_base_s=30).run_once()
    (row,) = outbox.rows(world["db"])
    assert counts == {"retry": 1} and row.state == "pending" and row.attempts == 1
    assert "ConnectError" in row.last_error


def test_webhook_hmac_signed(world: dict[str, Any], endpoint: tuple[Endpoint, str]) -> None:
    ep, base = endpoint
    register_webhook(world["db"], "recycler-a", f"{base}/hook", SECRET)
    with pytest.raises(ValueError):
        register_webhook(world["db"], "recycler-b", "ftp://x", "short")
    queued = publish_evidence(world["store"], "PP-OUT-1", world["keys"], None)
    assert queued["webhook"] and queued["epcis"] is None
    with httpx.Client(timeout=5) as client:
        Sender(world["db"], client).run_until_idle(10)
    ((headers, body),) = ep.hooks
    assert headers["X-Junkan-Signature"] == webhook_signature(SECRET, headers["X-Junkan-Timestamp"], body)
    assert headers["X-Junkan-Signature"] != webhook_signature("wrong-secret-value", headers["X-Junkan-Timestamp"], body)
    msg = json.loads(body)
    assert msg["event"] == "evidence.ready" and msg["lot_id"] == "PP-OUT-1"
    checked = verify_token(msg["jws"], active(world["keys"]).public_pem())
    assert checked["payload"]["credentialSubject"]["lot"]["lot_id"] == "PP-OUT-1"


def test_dedup_is_per_lot_url_and_document(world: dict[str, Any]) -> None:
    db: Database = world["db"]
    one = publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9/a")
    same = publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9/a/")  # same endpoint
    other = publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9/b")
    lot2 = publish_evidence(world["store"], "IN-1", world["keys"], "http://127.0.0.1:9/a")
    assert one["epcis"] == same["epcis"] and len({one["epcis"], other["epcis"], lot2["epcis"]}) == 3
    found = db.rows("SELECT lot_id, target_url, doc_sha256, payload FROM upload_outbox ORDER BY id")
    assert [(r["lot_id"], r["target_url"]) for r in found] == [
        ("PP-OUT-1", "http://127.0.0.1:9/a/capture"), ("PP-OUT-1", "http://127.0.0.1:9/b/capture"),
        ("IN-1", "http://127.0.0.1:9/a/capture")]
    for r in found:  # the document hash is the sha256 of the event list as sent
        events = json.dumps(json.loads(r["payload"])["epcisBody"]["eventList"], sort_keys=True)
        assert r["doc_sha256"] == hashlib.sha256(events.encode()).hexdigest()
    assert found[0]["doc_sha256"] == found[1]["doc_sha256"] != found[2]["doc_sha256"]


def test_a_row_queued_by_an_older_release_is_not_queued_again(world: dict[str, Any]) -> None:
    """Before 0460 the key was ``epcis:LOT:DIGEST`` (no URL) and rows had no lot column."""
    db: Database = world["db"]
    fresh = publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9/a")
    row = db.one("SELECT dedup_key, payload, doc_sha256 FROM upload_outbox WHERE id = ?", (fresh["epcis"],))
    db.execute("DELETE FROM upload_outbox")
    legacy = f"epcis:PP-OUT-1:{row['doc_sha256'][:32]}"
    db.execute("INSERT INTO upload_outbox (kind, target, dedup_key, payload, headers, state, attempts, "
               "next_attempt_at, created_at, updated_at) VALUES ('epcis', 'http://127.0.0.1:9/a/capture', ?, ?, '{}', "
               "'done', 1, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
               (legacy, row["payload"]))
    assert outbox.adopt_legacy(db) == 1
    adopted = db.one("SELECT id, lot_id, target_url FROM upload_outbox")
    assert adopted["lot_id"] == "PP-OUT-1" and adopted["target_url"] == "http://127.0.0.1:9/a/capture"
    again = publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9/a")
    assert again["epcis"] == adopted["id"] and db.scalar("SELECT COUNT(*) FROM upload_outbox") == 1
    moved = publish_evidence(world["store"], "PP-OUT-1", world["keys"], "http://127.0.0.1:9/b")
    assert moved["epcis"] != adopted["id"]  # the same document to another URL is a new delivery
