"""Write the upgrade fixtures with an OLD release's own code, and a manifest of what they hold.

Why: an upgrade test is only worth something if the files it opens were written by the release a plant
really runs, not by today's code pretending. So this script runs against a ``git worktree`` of the old
commit, and everything the upgrade test expects comes from the manifest written here, by that code.

Regenerate (from the repository root; the fixtures of commit C go to ``tests/upgrade/fixtures/``)::

    python tests/upgrade/make_fixtures.py --commit 6787e87

which checks the commit out with ``git worktree add --detach`` in a temp folder, runs this file again
with ``PYTHONPATH`` pointing there (``--generate``) and removes the worktree. A throwaway PostgreSQL
cluster (``tests/pg.py`` of that commit) receives the same data for the PostgreSQL dump; ``--no-pg``
skips it. The code below calls the API of commit 6787e87 (``junkan.wire``, ``edge_agent.core``...):
fixtures of a later release need a copy of this file adapted to that release, written to a new folder,
and the upgrade test extended to open them too. Never regenerate the 6787e87 fixtures with newer code.

The manifest-side helpers (``table_digest``, ``canonical``) import nothing from junkan, so the test
imports them from here without loading old APIs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
T0 = datetime(2026, 1, 19, 6, 0, tzinfo=UTC)
# The measured output lot of the traceability story (as a plant's NIR+XRF line reports one).
PP_OUT_MEASUREMENT: dict[str, Any] = {
    "method": "nir+xrf per object, scale per container", "net_mass_kg": 7.0,
    "composition": {"n_objects": 1840, "mass_method": "area x density",
                    "by_count": {"PP": {"n": 1700, "share": 0.924, "ci95": [0.911, 0.935]},
                                 "ABS": {"n": 140, "share": 0.076, "ci95": [0.065, 0.089]}},
                    "by_mass": {"PP": {"share": 0.962, "ci95": [0.951, 0.971]},
                                "ABS": {"share": 0.038, "ci95": [0.029, 0.049]}}},
    "contaminants": {"Br": {"n": 1840, "n_below_lod": 1700, "mean_ppm": 41.0, "p95_ppm": 120.0, "max_ppm": 180.0,
                            "lod_ppm": 20.0, "method": "XRF (EDXRF, 30 s per object)",
                            "thresholds": {"2000": {"fraction_above": 0.0, "ci95": [0.0, 0.002]}}}},
    "nir_blind_share": {"by_count": 0.02, "by_area": 0.015}, "product_models": [],
    "devices": {"contributed": ["scale-2", "nir-2", "xrf-2"], "missing": [], "degraded": []},
}
SKIP_TABLES = {"sqlite_sequence", "_sqlite_migrations", "junkan_migrations"}  # bookkeeping, grows on upgrade


# -- manifest helpers (stdlib only: the upgrade test imports these) ----------------------------------
def canonical(value: Any) -> str:
    """One text per value whatever the database returned: floats by repr, bytes as hex."""
    if isinstance(value, bytes | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, float):
        return "f:" + repr(value)
    if isinstance(value, bool):
        return "i:" + str(int(value))
    if isinstance(value, int):
        return "i:" + str(value)
    if value is None:
        return "null"
    return "s:" + str(value)


def table_digest(rows: Iterable[Iterable[Any]]) -> tuple[int, str]:
    """(row count, sha256 over the sorted canonical rows): order-free, same on SQLite and PostgreSQL."""
    lines = sorted("\x1f".join(canonical(v) for v in row) for row in rows)
    return len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest()


def sha256_json(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def sqlite_tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    return {n: [c[1] for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names if n not in SKIP_TABLES}


def sqlite_digests(path: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table, cols in sqlite_tables(conn).items():
            count, digest = table_digest(conn.execute(f'SELECT {",".join(cols)} FROM "{table}"'))
            out[table] = {"columns": cols, "count": count, "sha256": digest}
        return out
    finally:
        conn.close()


def pg_digests(conn: Any) -> dict[str, dict[str, Any]]:
    names = [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema='public' ORDER BY table_name")]
    out = {}
    for table in names:
        if table in SKIP_TABLES:
            continue
        cols = [r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='public' AND table_name=%s "
            "ORDER BY ordinal_position", (table,))]
        count, digest = table_digest(conn.execute(f'SELECT {",".join(cols)} FROM "{table}"'))
        out[table] = {"columns": cols, "count": count, "sha256": digest}
    return out


# -- generation (runs against the OLD code) ------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def run_agent_history(outbox_path: Path, repo: Path) -> dict[str, Any]:
    """Drive the old agent core: lots A and B closed, C open; returns the messages it built, in order,
    and the seq after which nothing is 'delivered' (the rest stays unacked in the outbox)."""
    from junkan.ids import new_id
    from junkan.wire.messages import CommandMessage
    from junkan.wire.topics import AgentTopics

    from edge_agent.config import load_config
    from edge_agent.core import AgentCore
    from edge_agent.drivers.base import DeviceReading
    from edge_agent.publishing.outbox import SqliteOutbox

    config = load_config(repo / "firmware_configs/lines/demo_line.yaml",
                         {"outbox.path": str(outbox_path), "outbox.batch_size": 20})
    outbox = SqliteOutbox(outbox_path)
    clock = Clock()
    core = AgentCore(config, outbox, AgentTopics(config.site, config.line, config.agent), new_id(), clock=clock)

    def frames(tare: float, net: float) -> list[float]:
        return [0.0] * 4 + [tare] * 4 + [round(tare + net, 2)] * 4 + [0.0] * 4

    def handle(events: list[tuple[str, Any]]) -> None:  # what one pass of AgentCore.run does
        for kind, payload in events:
            core._handle(kind, payload)
        core._flush_readings()

    def command(action: str, lot_id: str) -> None:
        clock.now += timedelta(seconds=5)
        handle([("command", CommandMessage(cmd_id=new_id(), action=action, line=config.line, lot_id=lot_id,
                                           issued_at=clock.now, issued_by="fixture-operator"))])

    def container(tare: float, net: float, polymers: str) -> None:
        events: list[tuple[str, Any]] = []
        for value in frames(tare, net):
            clock.now += timedelta(seconds=0.5)
            events.append(("reading", ("scale-pp", DeviceReading(kind="weight", value=value, unit="kg", stable=True,
                                                                 status="ok", ts=clock.now))))
        for i, polymer in enumerate(polymers):
            clock.now += timedelta(seconds=0.2)
            events.append(("reading", ("nir-1", DeviceReading(
                kind="nir_object", ts=clock.now,
                data={"polymer": {"P": "PP", "A": "ABS"}[polymer], "size_mm": 18.0 + i}))))
        clock.now += timedelta(seconds=0.2)
        events.append(("reading", ("xrf-1", DeviceReading(kind="xrf", ts=clock.now, data={"elements": {
            "Br": {"ppm": 35.0 + net % 7, "error": 4.0}, "Cd": {"ppm": None, "below_lod": True}}}))))
        handle(events)

    lots = {"LOT-A": [(18.4, 412.36, "PPPPAPPP"), (18.4, 398.04, "PPPP"), (18.6, 405.5, "PPAPP")],
            "LOT-B": [(18.4, 250.02, "PPP"), (18.5, 301.18, "APP")]}
    for lot_id, containers in lots.items():
        command("open_lot", lot_id)
        for args in containers:
            container(*args)
        clock.now += timedelta(minutes=10)
        command("close_lot", lot_id)
    command("open_lot", "LOT-C")
    container(18.4, 333.33, "PPP")
    delivered_through = core.seq
    container(18.5, 222.22, "PPAP")
    container(18.4, 111.11, "P")
    messages = [(m.seq, m.msg_id, m.kind, m.topic, m.payload) for m in outbox.after(0, 100_000)]
    state = outbox.load_state()
    live = core.live_lot()
    outbox.close()
    return {"messages": messages, "delivered_through": delivered_through, "state": state,
            "agent": config.agent, "site": config.site, "line": config.line, "session": core.session,
            "live_lot": live}


def ack_delivered(outbox_path: Path, history: dict[str, Any]) -> None:
    """What the old publisher does on the gateway's acks: delete the delivered rows."""
    from edge_agent.publishing.outbox import SqliteOutbox

    outbox = SqliteOutbox(outbox_path)
    outbox.delete([m[1] for m in history["messages"] if m[0] <= history["delivered_through"]])
    outbox.close()


def populate_gateway(store: Any, history: dict[str, Any], repo: Path) -> dict[str, Any]:
    """Everything a plant's gateway store holds, written through the old code's own functions."""
    from gateway.traceability.model import IntakeIn, StepIn
    from junkan.ids import new_id
    from junkan.wire.messages import CommandMessage, DeviceHealth, LotMessage, ReadingMessage, StatusMessage
    from junkan.wire.topics import Kind, ParsedTopic

    from gateway.auth.repo import AuthRepo, Principal
    from gateway.composition.importer import import_bytes
    from gateway.ingest.validate import validate
    from gateway.specs.model import RequirementSpec
    from gateway.specs.repo import save_spec
    from gateway.store.base import DeadLetter, Incoming
    from gateway.traceability.db import Db
    from gateway.traceability.repo import get_step, record_intake, record_step
    from gateway.upload import outbox as upload_outbox
    from gateway.upload.sender import register_webhook

    # 1. the agent's delivered messages, validated as the consumer validates them, in two batches
    incoming: list[Incoming] = []
    for seq, _msg_id, _kind, topic, payload in history["messages"]:
        if seq <= history["delivered_through"]:
            result = validate(topic, payload, 1_000_000)
            assert isinstance(result, Incoming), result
            incoming.append(result)
    half = len(incoming) // 2
    store.commit_batch(incoming[:half], [], [])
    dead = [validate(f"junkan/v1/{history['site']}/{history['line']}/{history['agent']}/reading", p, 1_000_000)
            for p in (b"not json at all", b'{"schema":"junkan.reading/1","msg_id":"x"}', b"\x00\xff binary")]
    assert all(isinstance(d, DeadLetter) for d in dead), dead
    status = StatusMessage(
        agent=history["agent"], site=history["site"], line=history["line"], session=history["session"],
        state="online", at=T0 + timedelta(hours=1),
        devices=[DeviceHealth(device="scale-pp", driver="mt_sics", state="alive", last_reading_at=T0,
                              frames_ok=412, frames_bad=3, reconnects=1, last_error="no data for 5.0 s")],
        outbox_depth=len(history["messages"]), outbox_oldest_age_s=2.5, open_lot=history["live_lot"],
        alarms=["fixture alarm: scale-pp reconnected once"])
    store.commit_batch(incoming[half:], dead, [status])  # type: ignore[arg-type]
    store.record_command(CommandMessage(cmd_id=new_id(), action="close_lot", line=history["line"], lot_id="LOT-B",
                                        issued_at=T0 + timedelta(minutes=40), issued_by="op-anna"),
                         [history["agent"]])

    # 2. traceability: composition records, intake, four process steps, a measured output lot (line-2)
    db = Db.of(store)
    data = repo / "tests/evidence/data"
    for name in ("tv_ipc1752a_classD.xml", "monitor_iec62474.xml", "products.csv"):
        report = import_bytes(db, (data / name).read_bytes(), f"fixtures/{name}")
        assert report["status"] == "imported", report
    topic = ParsedTopic(site=history["site"], line="line-2", agent="agent-line-2", kind=Kind.READING)
    session = new_id()

    def envelope(seq: int) -> dict[str, Any]:
        return {"msg_id": new_id(), "agent": topic.agent, "session": session, "seq": seq, "sent_at": T0}

    def line2_lot(lot_id: str, mass: float, measurement: dict[str, Any], idents: list[dict[str, Any]],
                  opened: datetime, seq: int) -> None:
        items = []
        if idents:
            readings = [{"device": "cam-1", "device_seq": seq * 10 + i, "ts": opened + timedelta(seconds=i),
                         "kind": "ident", "lot_id": lot_id, "data": d} for i, d in enumerate(idents)]
            items.append(Incoming(topic, ReadingMessage.model_validate(
                {**envelope(seq), "body": {"readings": readings}})))
        lot = {"lot_id": lot_id, "site": history["site"], "line": "line-2", "agent": topic.agent,
               "status": "closed", "opened_at": opened, "closed_at": opened + timedelta(minutes=30),
               "close_reason": "operator", "net_mass_kg": mass, "n_weighings": 2, "devices": ["scale-2"],
               "measurement": measurement}
        items.append(Incoming(ParsedTopic(site=history["site"], line="line-2", agent=topic.agent, kind=Kind.LOT),
                              LotMessage.model_validate({**envelope(seq + 1), "body": {"event": "closed",
                                                                                       "lot": lot}})))
        store.commit_batch(items, [], [])

    def ident(model: str | None = None, gtin: str | None = None, conf: float = 0.9) -> dict[str, Any]:
        codes = [{"format": "DataMatrix", "text": f"(01){gtin}", "gs1": {"01": gtin}}] if gtin else []
        return {"codes": codes, "model_candidates": [{"model": model, "confidence": conf}] if model else []}

    line2_lot("IN-1", 30.5, {}, [ident(gtin="04912345000128"), ident("AZ-32LX1"), ident("KM-2401B"),
                                 ident("ZZ-999", conf=0.4)], T0, 1)
    record_intake(db, IntakeIn(lot_id="IN-1", plant="Plant A", site=history["site"], received_at=T0,
                               source_stream="weee", net_mass_kg=30.5), store)
    record_intake(db, IntakeIn(lot_id="IN-2", plant="Plant B", received_at=T0 + timedelta(hours=1),
                               source_stream="weee", net_mass_kg=81.0,
                               products=[{"model": "AZ-50LX3", "n_items": 2}, {"model": "HR-300", "n_items": 1}]))
    t = T0 + timedelta(days=1)
    steps = [
        StepIn(step_id="DIS-1", kind="dismantling", plant="Plant A", started_at=t, ended_at=t + timedelta(hours=2),
               inputs=[{"lot_id": "IN-1", "mass_kg": 30.5}, {"lot_id": "IN-2", "mass_kg": 81.0}],
               outputs=[{"lot_id": "HOUSINGS-1", "mass_kg": 20.0}, {"lot_id": "OTHER-1", "mass_kg": 90.0}],
               losses=[{"kind": "dust", "mass_kg": 1.0}]),
        StepIn(step_id="SHR-1", kind="shredding", plant="Plant A", started_at=t + timedelta(hours=3),
               ended_at=t + timedelta(hours=4), inputs=[{"lot_id": "HOUSINGS-1", "mass_kg": 20.0}],
               outputs=[{"lot_id": "FLAKES-1", "mass_kg": 19.6}], losses=[{"kind": "dust", "mass_kg": 0.3}]),
        StepIn(step_id="SRT-1", kind="sorting", plant="Plant A", started_at=t + timedelta(hours=5),
               ended_at=t + timedelta(hours=6), inputs=[{"lot_id": "FLAKES-1", "mass_kg": 19.6}],
               outputs=[{"lot_id": "PP-OUT-1", "mass_kg": 7.0}, {"lot_id": "ABS-OUT-1", "mass_kg": 6.0},
                        {"lot_id": "BFR-1", "mass_kg": 6.3}], losses=[{"kind": "fines", "mass_kg": 0.2}]),
        StepIn(step_id="REG-1", kind="regeneration", plant="Plant A", started_at=t + timedelta(hours=7),
               ended_at=t + timedelta(hours=9), inputs=[{"lot_id": "PP-OUT-1", "mass_kg": 7.0}],
               outputs=[{"lot_id": "PP-RECYCLATE-1", "mass_kg": 6.8}],
               losses=[{"kind": "volatiles", "mass_kg": 0.15}]),
    ]
    for step in steps:
        record_step(db, step)
    line2_lot("PP-OUT-1", 7.0, PP_OUT_MEASUREMENT, [], t + timedelta(hours=5), 3)
    save_spec(db, RequirementSpec(spec_id="pp-auto", buyer="Car Parts Co", material="PP", min_purity=0.9))
    register_webhook(db, "recycler-kato", "https://recycler.invalid/junkan-hook", "fixture-webhook-secret-0001")
    upload_outbox.enqueue(db, "webhook", "recycler-kato", "fixture:PP-OUT-1", json.dumps({"lot_id": "PP-OUT-1"}))

    # 3. API users (tokens recorded here, in clear, only because this is test data) and a session
    auth = AuthRepo(store)
    users: dict[str, dict[str, Any]] = {}
    for name, role in (("op-anna", "operator"), ("eng-ben", "engineer"), ("recycler-kato", "recycler"),
                       ("admin-root", "admin"), ("op-gone", "operator")):
        users[name] = {"role": role, "token": auth.add_user(name, role), "valid": True}
    users["eng-ben"]["token_before_rotation"] = users["eng-ben"]["token"]
    users["eng-ben"]["token"] = auth.rotate("eng-ben")
    auth.revoke("op-gone")
    users["op-gone"]["valid"] = False
    session_value = auth.create_session(Principal("op-anna", "operator"), ttl_s=20 * 365 * 86400)
    assert auth.set_lot_recycler("PP-OUT-1", "recycler-kato")
    return {"users": users, "session": {"value": session_value, "user": "op-anna"},
            "steps": {s.step_id: {k: row[k] for k in ("kind", "input_mass_kg", "output_mass_kg", "declared_loss_kg",
                                                      "unaccounted_kg", "balance_ok")}
                      for s in steps if s.step_id and (row := get_step(db, s.step_id))}}


def lots_of(store: Any) -> dict[str, dict[str, Any]]:
    keys = ("status", "opened_at", "closed_at", "close_reason", "net_mass_kg", "n_weighings", "devices",
            "measurement", "recycler", "line", "agent")
    return {lot["lot_id"]: {k: lot[k] for k in keys} for lot in store.list_lots(limit=10_000)}


def sign_evidence(store: Any, keys_dir: Path, out: Path) -> list[dict[str, Any]]:
    """Two signed credentials: one with the first key (then retired by a rotation), one with its successor."""
    from gateway.evidence import keys
    from gateway.evidence.formats import produce
    from gateway.evidence.signing import verify_token

    keys.generate(keys_dir, {"name": "Fixture Plant (test key, not secret)", "id": "did:web:fixture.invalid"})
    issued = []
    for lot_id in ("PP-OUT-1", "LOT-A"):
        data, _ = produce(store, lot_id, "jws", keys_dir)
        token = data.decode().strip()
        kid = keys.active(keys_dir).kid
        checked = verify_token(token, keys.public_keys(keys_dir)[kid])
        name = f"evidence-{lot_id}.jwt"
        (out / name).write_bytes(data)
        subject = checked["payload"]["credentialSubject"]
        issued.append({"file": name, "lot_id": lot_id, "kid": kid, "header_kid": checked["header"]["kid"],
                       "payload_sha256": sha256_json(checked["payload"]), "evidence_id": checked["payload"]["id"],
                       "lot_mass_kg": subject.get("lot", {}).get("net_mass_kg")})
        keys.rotate(keys_dir)
    return issued


def tidy_sqlite(path: Path) -> None:
    """Fold the WAL into the file and compact it with 1 KiB pages, so one small file is committed."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA page_size=1024")
    conn.execute("VACUUM")
    conn.close()


def gzip_file(path: Path) -> None:
    with path.open("rb") as src, gzip.GzipFile(path.with_name(path.name + ".gz"), "wb", mtime=0) as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()


def outbox_manifest(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    rows = [{"seq": s, "msg_id": m, "kind": k, "topic": t, "data_class": d,
             "payload_sha256": hashlib.sha256(p).hexdigest()}
            for s, m, k, t, p, d in conn.execute(
                "SELECT seq, msg_id, kind, topic, payload, data_class FROM outbox ORDER BY seq")]
    state = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM state")}
    conn.close()
    return {"rows": rows, "state": state, "tables": sqlite_digests(path)}


def backlog_readings(history: dict[str, Any]) -> dict[str, Any]:
    """What the unacked messages carry: reading counts per message, the weighings of the open lot."""
    per_msg, weighings = {}, []
    for seq, msg_id, kind, _topic, payload in history["messages"]:
        if seq <= history["delivered_through"] or kind != "reading":
            continue
        readings = json.loads(payload)["body"]["readings"]
        per_msg[msg_id] = len(readings)
        weighings += [r["value"] for r in readings if r["kind"] == "weighing"]
    return {"readings_per_message": per_msg, "weighings_kg": weighings}


def generate(out: Path, repo: Path, with_pg: bool) -> None:
    from gateway.store import open_store

    if out.exists():
        shutil.rmtree(out)
    (out / "evidence").mkdir(parents=True)
    outbox_path = out / "agent-outbox.db"
    history = run_agent_history(outbox_path, repo)
    ack_delivered(outbox_path, history)
    manifest: dict[str, Any] = {
        "source_commit": git(repo, "rev-parse", "HEAD"), "generated_at": datetime.now(UTC).isoformat(),
        "generator": "tests/upgrade/make_fixtures.py", "agent": {k: history[k] for k in ("agent", "site", "line")},
        "delivered_through_seq": history["delivered_through"], "backlog": backlog_readings(history),
        "open_lot": {"lot_id": history["state"]["open_lot"]["lot_id"],
                     "net_mass_kg": history["state"]["open_lot"].get("net_mass_kg"),
                     "n_weighings": history["state"]["open_lot"].get("n_weighings")},
    }
    store = open_store(f"sqlite:///{out / 'gateway.db'}")
    sqlite_side = populate_gateway(store, history, repo)
    manifest["evidence"] = sign_evidence(store, out / "keys", out / "evidence")
    manifest["lots"] = lots_of(store)
    manifest["migrations"] = {"sqlite": [r[0] for r in store.conn.execute(
        "SELECT name FROM _sqlite_migrations ORDER BY applied_at, name")]}
    store.close()
    tidy_sqlite(out / "gateway.db")
    tidy_sqlite(outbox_path)
    manifest["outbox"] = outbox_manifest(outbox_path)
    manifest["sqlite"] = {**sqlite_side, "tables": sqlite_digests(out / "gateway.db")}
    gzip_file(out / "gateway.db")
    if with_pg:
        manifest["postgres"] = generate_pg(out, history, repo, manifest)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str) + "\n",
                                       encoding="utf-8")
    print(f"fixtures of {manifest['source_commit'][:12]} written to {out}")


def generate_pg(out: Path, history: dict[str, Any], repo: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    from gateway.evidence.formats import produce
    from gateway.store import open_store
    from tests.pg import PgServer, pg_bin

    with PgServer() as server:
        url = server.create_database("junkan_fixture")
        store = open_store(url)
        side = populate_gateway(store, history, repo)
        for item in manifest["evidence"]:  # evidence was built here too (it records identification matches)
            produce(store, item["lot_id"], "json", None)
        if lots_of(store) != manifest["lots"]:
            raise SystemExit("the PostgreSQL store's lots differ from the SQLite store's")
        store.close()
        with psycopg.connect(url) as conn:
            side["tables"] = pg_digests(conn)
            side["migrations"] = [r[0] for r in conn.execute(
                "SELECT name FROM junkan_migrations ORDER BY applied_at, name")]
        dump = subprocess.run([pg_bin("pg_dump") or "pg_dump", "--no-owner", "--no-privileges", "--format=plain",
                               url], check=True, capture_output=True).stdout
        version = subprocess.run([pg_bin("pg_dump") or "pg_dump", "--version"], check=True, capture_output=True,
                                 text=True).stdout.strip()
    with gzip.GzipFile(out / "gateway-pg.sql.gz", "wb", mtime=0) as fh:
        fh.write(dump)
    side["pg_dump_version"] = version
    return side


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commit", help="Release commit to generate from (checked out in a temp worktree).")
    parser.add_argument("--out", type=Path, default=FIXTURES, help="Fixture folder (default tests/upgrade/fixtures).")
    parser.add_argument("--no-pg", action="store_true", help="Skip the PostgreSQL dump.")
    parser.add_argument("--generate", type=Path, metavar="CODE_DIR",
                        help="Internal: generate with the code importable from CODE_DIR (PYTHONPATH).")
    args = parser.parse_args()
    if args.generate:
        import junkan

        code = Path(junkan.__file__).resolve().parents[1]
        if code != args.generate.resolve():
            raise SystemExit(f"junkan imported from {code}, not {args.generate}: set PYTHONPATH={args.generate}")
        generate(args.out.resolve(), code, not args.no_pg)
        return 0
    if not args.commit:
        parser.error("--commit COMMIT is required")
    here = Path(__file__).resolve().parents[2]
    tmp = Path(tempfile.mkdtemp(prefix="junkan-fixture-gen-"))
    worktree = tmp / "src"
    git(here, "worktree", "add", "--detach", str(worktree), args.commit)
    try:
        env = {**os.environ, "PYTHONPATH": str(worktree)}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--generate", str(worktree), "--out",
               str(args.out.resolve()), *(["--no-pg"] if args.no_pg else [])]
        return subprocess.run(cmd, env=env, cwd=tmp).returncode
    finally:
        git(here, "worktree", "remove", "--force", str(worktree))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
