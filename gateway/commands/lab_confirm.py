"""`junkan gateway lab-confirm LOT --file result.json [--report report.pdf] --db PATH`: attach a lab result.

The JSON is a ``LabConfirmationIn`` (lab, method, analysed_on, results per congener group); with
``--report`` its sha256 and file name are computed from the report file (and must agree with any the JSON
states). Prints the stored confirmation, its verdict and the lot's screening; exit 0 when the verdict is
pass, 1 when it fails or is insufficient, 2 for a bad file or an unknown lot.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("lab-confirm", help="Attach a lab confirmation (GC-MS, IEC 62321-6) of PBDE/PBB to a lot.")
    p.add_argument("lot_id", help="Lot the sample was taken from.")
    p.add_argument("--file", required=True, help='JSON: {"lab", "method", "analysed_on", "results": [{"analyte", '
                   '"value_mg_kg" | "below_lod" + "lod_mg_kg"}], ...} (docs/evidence.md).')
    p.add_argument("--report", help="The lab's report file (PDF); its sha256 is stored, not the file.")
    p.add_argument("--db", required=True, help="Store: a SQLite file path or a postgresql:// URL.")
    p.add_argument("--by", help="Who enters it (default: cli:<login name>).")
    p.set_defaults(func=_run)


def _entry(args: argparse.Namespace) -> dict[str, object]:
    doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("the file holds no JSON object")
    if args.report:
        report = Path(args.report)
        digest = hashlib.sha256(report.read_bytes()).hexdigest()
        if doc.get("report_sha256") not in (None, digest):
            raise ValueError(f"report_sha256 in {args.file} differs from the sha256 of {report.name} ({digest})")
        doc = {**doc, "report_sha256": digest, "report_file": doc.get("report_file") or report.name}
    elif "report_sha256" not in doc:
        raise ValueError("give --report FILE (its sha256 is stored) or report_sha256 in the JSON")
    return doc


def _run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from gateway.commands.export import existing_store_url
    from gateway.evidence.build import build_evidence
    from gateway.specs.lab import LabConfirmationIn, lab_verdict
    from gateway.specs.lab_repo import attach
    from gateway.store import open_store

    try:
        entry = LabConfirmationIn.model_validate(_entry(args))
    except (OSError, ValueError, ValidationError) as exc:
        print(f"lab-confirm: {exc}", file=sys.stderr)
        return 2
    store = open_store(existing_store_url(args.db))
    try:
        try:
            conf = attach(store.db, args.lot_id, entry, args.by or f"cli:{getpass.getuser()}")
        except KeyError as exc:
            print(f"lab-confirm: {exc.args[0]}", file=sys.stderr)
            return 2
        screening = build_evidence(store, store.db, args.lot_id, specs=[]).screening
        # the lot's screening judges it as the evidence does (HBCDD required when declared); an older analysis
        # than one already attached is judged on its own
        verdict = (screening.lab if screening is not None and screening.lab is not None
                   and screening.lab.confirmation_id == conf.confirmation_id
                   else lab_verdict(conf, conf.entered_at.date()))
    finally:
        store.close()
    print(json.dumps({"confirmation": conf.model_dump(mode="json"), "verdict": verdict.model_dump(mode="json"),
                      "screening": screening.model_dump(mode="json") if screening else None}, indent=1))
    if verdict.result != "pass":
        print(f"lab-confirm: verdict {verdict.result}: {'; '.join(verdict.reasons)}", file=sys.stderr)
    return 0 if verdict.result == "pass" else 1
