"""The upload worker against a real capture repository on loopback (tests/evidence/epcis_peer.py), on real
SQLite files and, with ``--gateway-db=postgres``, PostgreSQL.

What is expected is derived from the store with plain SQL and from the evidence export route's own EPCIS
rendering, and what happened is counted by the peer (documents and events it received), never read back
from the outbox's bookkeeping alone.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.evidence.formats import produce
from gateway.evidence.keys import generate
from gateway.settings import GatewaySettings
from gateway.store import open_store
from gateway.upload import outbox
from gateway.upload.publish import publish_evidence
from gateway.upload.sender import Sender, register_webhook, webhook_signature
from gateway.upload.worker import UploadWorker
from tests.evidence.epcis_peer import event_hash, serve_peer

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cret-for-recycler-a"


@pytest.fixture
def world(plant: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """The plant story plus an open lot and a closed empty lot (neither may be published)."""
    generate(tmp_path / "keys", {"name": "Plant A", "id": "did:web:plant-a.example"})
    db = plant["store"].db
    db.execute("UPDATE lots SET recycler = 'recycler-a' WHERE lot_id = 'PP-OUT-1'")
    for lot, status in (("OPEN-1", "open"), ("EMPTY-1", "closed")):
        db.execute("INSERT INTO lots (lot_id, site, line, agent, status, opened_at, closed_at, net_mass_kg, "
                   "n_weighings, updated_at) VALUES (?, 'plant-a', 'line-9', 'agent-9', ?, "
                   "'2026-03-05T08:00:00+00:00', ?, 0, 0, '2026-03-05T09:00:00+00:00')",
                   (lot, status, None if status == "open" else "2026-03-05T09:00:00+00:00"))
    return {**plant, "keys": tmp_path / "keys"}


def make_worker(world: dict[str, Any], url: str, **upload: Any) -> UploadWorker:
    settings = GatewaySettings(db_url="sqlite:///unused.db", consume=False,
                               upload={"enabled": True, "backoff_base_s": 0.05, "timeout_s": 5.0, **upload})
    return UploadWorker(settings, world["store"], keys_dir=world["keys"])


def drain(worker: UploadWorker, timeout_s: float = 30.0) -> None:
    """Passes until nothing is pending or polling (SQL over the table, not the worker's own view)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        worker.run_pass()
        if not worker.store.db.scalar("SELECT COUNT(*) FROM upload_outbox WHERE state IN ('pending', 'polling')"):
            return
        time.sleep(0.05)
    raise AssertionError("outbox not drained")


def issuable_closed_lots(db: Any) -> set[str]:
    return {r["lot_id"] for r in db.rows("SELECT lot_id FROM lots WHERE status = 'closed' AND "
                                         "(net_mass_kg > 0 OR n_weighings > 0)")}


def exported_events(world: dict[str, Any], lot: str) -> list[dict[str, Any]]:
    """The lot's EPCIS events as the evidence route renders them (an independent rendering, this moment)."""
    data, _ = produce(world["store"], lot, "epcis", world["keys"])
    return json.loads(data)["epcisBody"]["eventList"]  # type: ignore[no-any-return]


def sql_rows(db: Any) -> list[dict[str, Any]]:
    return db.rows("SELECT id, kind, lot_id, target_url, state, attempts, last_error, doc_sha256 FROM upload_outbox "
                   "ORDER BY id")


def test_publish_on_close_delivers_each_closed_lot_once(world: dict[str, Any]) -> None:
    db = world["db"]
    with serve_peer() as peer:
        register_webhook(db, "recycler-a", f"{peer.base}/hook/a", SECRET)
        worker = make_worker(world, peer.base, capture_url=f"{peer.base}/ok", publish_on_close=True)
        drain(worker)
        drain(worker)  # a second round: every lot has its rows, nothing is queued or sent again
        expected = issuable_closed_lots(db)
        assert expected == {"IN-1", "PP-OUT-1"}  # the open and the empty lot are not issuable
        docs = peer.capture_docs("ok")
        assert len(docs) == len(expected) and peer.repeated_events == 0
        for lot in expected:  # each received document is one lot's events, exactly once
            assert sum(d["epcisBody"]["eventList"] == exported_events(world, lot) for d in docs) == 1, lot
        assert set(worker.skipped) == {"EMPTY-1"}  # refused with the reason, not retried every pass
        assert "nothing to issue" in worker.skipped["EMPTY-1"]
        ((path, headers, body),) = peer.hooks  # PP-OUT-1 is addressed to recycler-a, which registered a hook
        assert path == "/hook/a" and json.loads(body)["lot_id"] == "PP-OUT-1"
        assert headers["X-Junkan-Signature"] == webhook_signature(SECRET, headers["X-Junkan-Timestamp"], body)
        # publishing again by hand (same URL, same content) queues nothing new
        again = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/ok")
        drain(worker)
        assert len(peer.capture_docs("ok")) == 2 and len(peer.hooks) == 1
        rows = sql_rows(db)
        assert again["epcis"] in {r["id"] for r in rows} and {r["state"] for r in rows} == {"done"}
    done = db.scalar("SELECT COUNT(*) FROM upload_outbox WHERE state = 'done'")
    assert sample(worker, "junkan_gateway_upload_outbox_rows", state="done") == done == 3
    assert sample(worker, "junkan_gateway_upload_outbox_rows", state="failed") == 0
    assert sample(worker, "junkan_gateway_upload_lots_queued_total") == 2
    assert sample(worker, "junkan_gateway_upload_attempts_total", kind="epcis", outcome="done") == 2


def sample(worker: UploadWorker, name: str, **labels: str) -> float | None:
    return worker.registry.get_sample_value(name, labels)  # type: ignore[no-any-return]


def test_transient_failures_retry_with_exponential_backoff(world: dict[str, Any]) -> None:
    db = world["db"]
    with serve_peer() as peer:
        peer.flaky = 3
        worker = make_worker(world, peer.base, backoff_base_s=0.2, max_attempts=6)
        queued = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/flaky")
        delays = []
        for _ in range(3):  # each failed attempt waits twice as long as the one before
            worker.run_pass()
            row = db.one("SELECT attempts, state, last_error, next_attempt_at, updated_at FROM upload_outbox "
                         "WHERE id = ?", (queued["epcis"],))
            assert row["state"] == "pending" and "HTTP 503" in row["last_error"]
            delays.append((datetime.fromisoformat(row["next_attempt_at"])
                           - datetime.fromisoformat(row["updated_at"])).total_seconds())
            time.sleep(delays[-1] + 0.05)
        assert [round(d, 1) for d in delays] == [0.2, 0.4, 0.8]
        drain(worker)
        assert peer.requests["flaky"] == 4 and len(peer.capture_docs("flaky")) == 1  # 3 refused + 1 accepted
        assert peer.repeated_events == 0
        (row,) = sql_rows(db)
        assert row["state"] == "done" and row["attempts"] == 4
        assert sample(worker, "junkan_gateway_upload_attempts_total", kind="epcis", outcome="retry") == 3


@pytest.mark.parametrize(("segment", "max_attempts", "requests", "reason"), [
    ("e400", 5, 1, "refused HTTP 400"),  # permanent: failed at once, the repository's reason kept
    ("e500", 3, 3, "gave up after 3 attempts: HTTP 500"),  # transient every time: dead-lettered after N
    ("slow", 2, 2, "gave up after 2 attempts: ReadTimeout"),  # no answer within the timeout: transient
])
def test_failures_end_in_failed_with_the_reason(world: dict[str, Any], segment: str, max_attempts: int,
                                                 requests: int, reason: str) -> None:
    db = world["db"]
    with serve_peer() as peer:
        peer.slow_s = 1.5
        worker = make_worker(world, peer.base, max_attempts=max_attempts, timeout_s=0.4, backoff_base_s=0.01)
        publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/{segment}")
        drain(worker)
        for _ in range(3):
            worker.run_pass()  # a failed row is not tried again
        (row,) = sql_rows(db)
        assert row["state"] == "failed" and row["attempts"] == requests
        assert row["last_error"].startswith(reason) or reason in row["last_error"], row["last_error"]
        assert peer.requests[segment] == requests
        if segment == "e400":
            assert "ValidationException" in row["last_error"]
        assert sample(worker, "junkan_gateway_upload_outbox_rows", state="failed") == 1


def test_republishing_to_a_corrected_url_sends(world: dict[str, Any]) -> None:
    db = world["db"]
    with serve_peer() as peer:
        worker = make_worker(world, peer.base)
        wrong = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/e400")
        drain(worker)
        assert publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/e400")["epcis"] == \
            wrong["epcis"]  # same URL, same content: the failed row stands (the operator may retry it)
        right = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/ok/")
        drain(worker)
        assert right["epcis"] != wrong["epcis"]
        rows = {r["id"]: r for r in sql_rows(db)}
        assert rows[wrong["epcis"]]["state"] == "failed" and rows[right["epcis"]]["state"] == "done"
        assert rows[wrong["epcis"]]["doc_sha256"] == rows[right["epcis"]]["doc_sha256"]  # one document, two URLs
        assert rows[right["epcis"]]["target_url"] == f"{peer.base}/ok/capture"
        (doc,) = peer.capture_docs("ok")
        assert doc["epcisBody"]["eventList"] == exported_events(world, "PP-OUT-1")
        # a webhook re-registered at a corrected URL: the queued row for the old URL is superseded, the new
        # URL gets the document
        register_webhook(db, "recycler-a", f"{peer.base}/hook404/a", SECRET)
        old = publish_evidence(world["store"], "PP-OUT-1", world["keys"], None)["webhook"]
        drain(worker)
        register_webhook(db, "recycler-a", f"{peer.base}/hook/a", SECRET)
        new = publish_evidence(world["store"], "PP-OUT-1", world["keys"], None)["webhook"]
        drain(worker)
        states = {r["id"]: (r["state"], r["last_error"]) for r in sql_rows(db)}
        assert states[old][0] == "failed" and "HTTP 404" in states[old][1] and states[new] == ("done", None)
        assert [p for p, _, _ in peer.hooks] == ["/hook404/a", "/hook/a"]


DOOMED = """
import sys, httpx
from gateway.store import open_store
from gateway.upload.sender import Sender
store = open_store(sys.argv[1])
with httpx.Client(timeout=60) as client:
    Sender(store.db, client, owner="doomed", lease_s=float(sys.argv[2])).run_once()
"""


def test_a_sender_killed_mid_delivery_is_replaced_once_with_the_same_document(world: dict[str, Any],
                                                                              gateway_db_url: str) -> None:
    db, lease_s = world["db"], 4.0
    with serve_peer() as peer:
        queued = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/hold")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-c", DOOMED, gateway_db_url, str(lease_s)], env=env)
        try:
            assert peer.received.wait(60), "the doomed sender never sent"
        finally:
            proc.send_signal(signal.SIGKILL)  # between the claim and the outcome: the 202 never reaches it
            proc.wait(10)
        row = db.one("SELECT state, lease_owner, attempts FROM upload_outbox WHERE id = ?", (queued["epcis"],))
        assert row == {"state": "pending", "lease_owner": "doomed", "attempts": 0}
        peer.release.set()
        with httpx.Client(timeout=5) as client:
            sender = Sender(db, client, owner="heir", lease_s=30)
            assert sender.run_once() == {}  # the dead sender's lease still holds: nobody sends the row
            time.sleep(lease_s)
            sender.run_until_idle(20)
            for _ in range(3):
                sender.run_once()
        bodies = [body for path, body in peer.docs]
        assert len(bodies) == 2 and bodies[0] == bodies[1]  # one re-delivery, byte for byte the same document
        n_events = len(json.loads(bodies[0])["epcisBody"]["eventList"])
        assert peer.new_events == n_events and peer.repeated_events == n_events  # the peer dedups them all
        row = db.one("SELECT state, lease_owner, attempts FROM upload_outbox WHERE id = ?", (queued["epcis"],))
        assert row == {"state": "done", "lease_owner": None, "attempts": 1}


WORKER = """
import json, os, sys, time, httpx
from gateway.store import open_store
from gateway.upload.sender import Sender
store = open_store(sys.argv[1])
print("ready", flush=True)
while not os.path.exists(sys.argv[3]):  # both processes start sending together
    time.sleep(0.01)
with httpx.Client(timeout=10) as client:
    counts = Sender(store.db, client, owner=sys.argv[2], lease_s=30).run_until_idle(60)
store.close()
print(json.dumps(counts))
"""


def _in_threads(url: str, owners: list[str], _go: Path) -> dict[str, dict[str, int]]:
    """Each sender on its own store (its own connections), in a thread of this process."""
    out: dict[str, dict[str, int]] = {}
    stores = [open_store(url) for _ in owners]

    def work(store: Any, owner: str) -> None:
        with httpx.Client(timeout=10) as client:
            out[owner] = Sender(store.db, client, owner=owner, lease_s=30).run_until_idle(60)

    threads = [threading.Thread(target=work, args=(s, o)) for s, o in zip(stores, owners, strict=True)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    finally:
        for s in stores:
            s.close()
    return out


def _in_processes(url: str, owners: list[str], go: Path) -> dict[str, dict[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = {o: subprocess.Popen([sys.executable, "-c", WORKER, url, o, str(go)], env=env, stdout=subprocess.PIPE,
                                 text=True) for o in owners}
    for p in procs.values():
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()
    return {o: json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for o, p in procs.items()}


@pytest.mark.parametrize("how", ["threads", "processes"])
def test_two_workers_on_one_database_never_send_a_row_twice(world: dict[str, Any], gateway_db_url: str,
                                                             how: str, tmp_path: Path) -> None:
    n = 40
    with serve_peer() as peer:
        target = f"{peer.base}/ok/capture"
        for i in range(n):
            doc = {"type": "EPCISDocument", "epcisBody": {"eventList": [{"eventID": f"ni:///test-{i}",
                                                                         "type": "ObjectEvent"}]}}
            digest = event_hash(doc["epcisBody"]["eventList"][0])
            outbox.enqueue(world["db"], "epcis", target, outbox.dedup_key("epcis", f"L-{i}", digest, target),
                           json.dumps(doc), lot_id=f"L-{i}", target_url=target, doc_sha256=digest)
        by_owner = (_in_threads if how == "threads" else _in_processes)(gateway_db_url, ["w0", "w1"], tmp_path / "go")
        bodies = Counter(body for _, body in peer.docs)
        assert len(bodies) == n and set(bodies.values()) == {1}  # each row sent once
        assert peer.max_in_flight == 1  # and never two requests for one document at the same time
        assert peer.repeated_events == 0
        accepted = {o: c.get("accepted", 0) for o, c in by_owner.items()}
        assert sum(accepted.values()) == n and sum(c.get("done", 0) for c in by_owner.values()) == n
        assert min(accepted.values()) > 0, by_owner  # both really worked
        assert world["db"].scalar("SELECT COUNT(*) FROM upload_outbox WHERE state = 'done'") == n
        print(f"two workers ({how}): {by_owner}; peer received {len(peer.docs)} documents for {n} rows")


def test_a_lease_that_ran_out_cannot_overwrite_the_new_holder(world: dict[str, Any]) -> None:
    db = world["db"]
    row_id = outbox.enqueue(db, "epcis", "http://127.0.0.1:9/capture", "k-1", "{}")
    first = outbox.claim(db, "a", 0.2)
    assert first is not None and first.id == row_id and outbox.claim(db, "b", 30) is None  # held
    time.sleep(0.3)
    second = outbox.claim(db, "b", 30)
    assert second is not None and second.lease_owner == "b"
    assert not outbox.finish(db, row_id, "a", state="done", attempts=1)  # a's late outcome is dropped
    assert outbox.finish(db, row_id, "b", state="failed", attempts=1, error="x")
    assert db.one("SELECT state, lease_owner FROM upload_outbox WHERE id = ?", (row_id,)) == {
        "state": "failed", "lease_owner": None}


def test_api_and_dashboard_show_the_outbox_and_retry_a_failed_row(world: dict[str, Any]) -> None:
    from gateway.auth import AuthRepo
    from tests.dashboard.seed import bearer, client_for

    db = world["db"]
    with serve_peer() as peer:
        worker = make_worker(world, peer.base)
        bad = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/fixed")["epcis"]
        good = publish_evidence(world["store"], "IN-1", world["keys"], f"{peer.base}/ok")["epcis"]
        drain(worker)
        repo = AuthRepo(db)
        admin, engineer = bearer(repo.add_user("ada", "admin")), bearer(repo.add_user("ben", "engineer"))
        client = client_for(world["store"], "tokens")
        by_sql = {r["state"]: r["n"] for r in db.rows("SELECT state, COUNT(*) AS n FROM upload_outbox GROUP BY state")}
        listing = client.get("/api/v1/uploads", headers=admin).json()
        assert listing["counts"] == {"pending": 0, "polling": 0, **by_sql} == {"pending": 0, "polling": 0, "done": 1,
                                                                               "failed": 1}
        (failed,) = client.get("/api/v1/uploads?state=failed", headers=admin).json()["rows"]
        assert failed["id"] == bad and failed["lot_id"] == "PP-OUT-1" and "HTTP 400" in failed["last_error"]
        assert failed["target_url"] == f"{peer.base}/fixed/capture" and "payload" not in failed
        assert client.get("/api/v1/uploads?state=lost", headers=admin).status_code == 422
        assert client.get("/api/v1/uploads", headers=engineer).status_code == 403  # admin only
        assert client.post(f"/api/v1/uploads/{bad}/retry", headers=engineer).status_code == 403
        page = client.get("/uploads", headers={**admin, "Accept-Language": "ja"})
        assert page.status_code == 200 and '<html lang="ja">' in page.text and "送信" in page.text
        assert f'data-route="/api/v1/uploads/{bad}/retry"' in page.text  # the button calls the API
        assert f'data-route="/api/v1/uploads/{good}/retry"' not in page.text  # only failed rows have one
        assert 'data-test="count-failed"' in page.text and 'href="/uploads"' in page.text  # nav link
        assert client.get("/uploads", headers={**engineer, "Accept": "text/html"}).status_code == 403
        assert client.post(f"/api/v1/uploads/{good}/retry", headers=admin).status_code == 409
        assert client.post("/api/v1/uploads/999999/retry", headers=admin).status_code == 404
        peer.broken = False  # the repository's configuration was fixed; the operator retries
        retried = client.post(f"/api/v1/uploads/{bad}/retry", headers=admin).json()
        assert retried["state"] == "pending" and retried["attempts"] == 0
        drain(worker)
        assert len(peer.capture_docs("fixed")) == 1 and peer.requests["fixed"] == 2
        assert db.scalar("SELECT state FROM upload_outbox WHERE id = ?", (bad,)) == "done"


def test_serve_runs_the_worker_and_stops_it_on_shutdown(world: dict[str, Any], gateway_db_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.app import serve
    from junkan.broker import free_port

    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(world["keys"]))
    with serve_peer() as peer:
        port = free_port()
        settings = GatewaySettings(db_url=gateway_db_url, consume=False, api={"port": port},
                                   evidence={"issuer_domain": "plant-a.example"},
                                   upload={"enabled": True, "capture_url": f"{peer.base}/ok",
                                           "publish_on_close": True, "interval_s": 0.1})
        stop = threading.Event()
        thread = threading.Thread(target=serve, args=(settings, stop), daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and world["db"].scalar(
                "SELECT COUNT(*) FROM upload_outbox WHERE state = 'done'") < 2:
            time.sleep(0.1)
        time.sleep(0.3)  # a pass after the last delivery has set the gauges
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            ready, metrics = api.get("/readyz"), api.get("/metrics").text
        stop.set()
        thread.join(30)
        assert not thread.is_alive()
        assert not [t for t in threading.enumerate() if t.name == "upload-worker"]  # stopped with the server
        assert len(peer.capture_docs("ok")) == len(issuable_closed_lots(world["db"])) == 2
    assert ready.status_code == 200 and ready.json()["ready"] is True  # uploads are not part of readiness
    assert 'junkan_gateway_upload_outbox_rows{state="done"} 2.0' in metrics
    assert 'junkan_gateway_upload_attempts_total{kind="epcis",outcome="done"} 2.0' in metrics


def test_the_cli_queues_and_delivers_once(world: dict[str, Any], gateway_db_url: str, junkan: Any) -> None:
    db_arg = gateway_db_url.removeprefix("sqlite:///")
    with serve_peer() as peer:
        args = ["gateway", "evidence-upload", "--db", db_arg, "--keys", str(world["keys"]), "--timeout", "20"]
        first = junkan(*args, "--lot", "PP-OUT-1", "--capture-url", f"{peer.base}/ok")
        assert first.returncode == 0, first.stderr
        assert json.loads(first.stdout.splitlines()[-1])["failed"] == []
        again = junkan(*args, "--lot", "PP-OUT-1", "--capture-url", f"{peer.base}/ok")
        assert again.returncode == 0 and len(peer.capture_docs("ok")) == 1  # same lot, URL, content: not resent
        refused = junkan(*args, "--lot", "PP-OUT-1", "--capture-url", f"{peer.base}/e400")
        assert refused.returncode == 1
        (failed,) = json.loads(refused.stdout.splitlines()[-1])["failed"]
        assert "HTTP 400" in failed["error"] and failed["target"] == f"{peer.base}/e400/capture"


@pytest.mark.browser
def test_the_uploads_page_in_a_browser_retries_a_failed_row(world: dict[str, Any], gateway_db_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Both languages and widths through the dashboard sweep (no English on a Japanese page, no overflow,
    no console error), then the retry button: it calls the API and the worker delivers the row."""
    from playwright.sync_api import sync_playwright

    from gateway.app import serve
    from junkan.broker import free_port, wait_for_port
    from tests.dashboard.sweep import ARGS, CHROMIUM, sweep

    monkeypatch.setenv("JUNKAN_KEYS_DIR", str(world["keys"]))
    db = world["db"]
    with serve_peer() as peer:
        bad = publish_evidence(world["store"], "PP-OUT-1", world["keys"], f"{peer.base}/fixed")["epcis"]
        publish_evidence(world["store"], "IN-1", world["keys"], f"{peer.base}/ok")
        drain(make_worker(world, peer.base))
        port, stop = free_port(), threading.Event()
        settings = GatewaySettings(db_url=gateway_db_url, consume=False, api={"port": port},
                                   evidence={"issuer_domain": "plant-a.example"},
                                   upload={"enabled": True, "interval_s": 0.2, "backoff_base_s": 0.05})
        thread = threading.Thread(target=serve, args=(settings, stop), daemon=True)
        thread.start()
        try:
            wait_for_port(port, timeout=30)
            base = f"http://127.0.0.1:{port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                try:
                    problems = sweep(base, ["/uploads", "/uploads?state=failed"],
                                     REPO / "test-artifacts" / "dashboard" / "uploads", browser)
                    page = browser.new_page()
                    page.goto(base + "/uploads")
                    assert page.locator("[data-test=count-failed] b").inner_text() == "1"
                    peer.broken = False
                    page.click("[data-test=retry-upload]")
                    page.wait_for_selector(f'tr[data-upload="{bad}"]', state="detached", timeout=10_000)
                finally:
                    browser.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and db.scalar("SELECT state FROM upload_outbox WHERE id = ?",
                                                            (bad,)) != "done":
                time.sleep(0.1)
        finally:
            stop.set()
            thread.join(30)
    assert problems == [], "\n".join(problems)
    assert db.scalar("SELECT state FROM upload_outbox WHERE id = ?", (bad,)) == "done"
    assert len(peer.capture_docs("fixed")) == 1


def test_signed_untp_credentials_go_to_their_endpoint_once(world: dict[str, Any], tmp_path: Path) -> None:
    from gateway.evidence.keys import active
    from junkan.verify import verify

    (tmp_path / "plant.pem").write_bytes(active(world["keys"]).public_pem())
    with serve_peer() as peer:
        worker = make_worker(world, peer.base, untp_url=f"{peer.base}/untp/credentials", publish_on_close=True,
                             untp_formats=["untp-dpp-vc", "untp-dcc-vc"])
        drain(worker)
        drain(worker)
        lots = issuable_closed_lots(world["db"])
        assert len(peer.credentials) == 2 * len(lots) == 4  # one of each format per lot, once
        seen = Counter()
        for i, (media, body) in enumerate(peer.credentials):
            assert media == "application/vc+ld+json"
            path = tmp_path / f"cred-{i}.json"
            path.write_bytes(body)
            code, line = verify(str(path), key=str(tmp_path / "plant.pem"))
            assert code == 0, line
            token = json.loads(body)["id"].removeprefix("data:application/vc+jwt,")
            payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            kind = next(t for t in payload["type"] if t != "VerifiableCredential")
            (lot,) = set(re.findall(r'"batchNumber": "([^"]+)"', json.dumps(payload)))  # the product is the lot
            seen[(lot, kind)] += 1
        assert set(seen.values()) == {1} and {lot for lot, _ in seen} == lots
        assert {k for _, k in seen} == {"DigitalProductPassport", "DigitalConformityCredential"}


def test_a_row_queued_by_release_0_1_0_is_adopted_not_queued_again(gateway_db_url: str, tmp_path: Path) -> None:
    """The upgrade fixture (written by 0.1.0) holds a pending webhook for PP-OUT-1 under a key of its own:
    after the upgrade the worker's first pass gives it its lot and URL, so the lot is not queued twice. Only
    the queue side runs here: the fixture's recycler URL is not on loopback."""
    from tests.upgrade.fixture_io import MANIFEST, backend_of, place_gateway_store

    if backend_of(gateway_db_url) not in MANIFEST:
        pytest.skip(f"the fixtures hold no {backend_of(gateway_db_url)} store")
    place_gateway_store(gateway_db_url, tmp_path)
    store = open_store(gateway_db_url)
    try:
        db = store.db
        before = db.rows("SELECT id, kind, target, dedup_key, state FROM upload_outbox")
        assert [r["kind"] for r in before] == ["webhook"]
        assert outbox.lots_to_publish(db, None) == ["PP-OUT-1"]  # not yet adopted: it would be queued again
        outbox.adopt_legacy(db)
        url = db.scalar("SELECT url FROM webhooks WHERE recycler = ?", (before[0]["target"],))
        row = db.one("SELECT id, kind, target, dedup_key, state, lot_id, target_url FROM upload_outbox")
        assert row == {**before[0], "lot_id": "PP-OUT-1", "target_url": url}  # the old columns untouched
        assert outbox.lots_to_publish(db, None) == []
    finally:
        store.close()
