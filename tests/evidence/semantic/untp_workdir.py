"""The UNTP, Catena-X and certificate semantic checks on a scenario's real store (as the line wrote it):

    junkan sim scenario tv_housings_bfr --seed 1 --duration 60 --workdir /tmp/tv
    python -m tests.evidence.semantic.untp_workdir /tmp/tv    # per format: lots, fields checked, mismatches

Every closed lot's UNTP DCC / DTE / DPP, Catena-X aspect and PDF certificate text (the store's specs) are checked
field by field against SQL on the store, as the suites do for the fixture lots; exit 1 on a mismatch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.evidence.build import build_evidence
from gateway.evidence.formats import render_as
from gateway.store import open_store
from tests.evidence.semantic.test_catenax_semantics import check_catenax
from tests.evidence.semantic.test_certificate_semantics import check_certificate, pdf_text
from tests.evidence.semantic.test_untp_semantics import check_dcc, check_dpp, check_dte
from tests.evidence.semantic.truth import Tally


def main(work: Path) -> int:
    store = open_store(f"sqlite:///{work / 'gateway.db'}")
    tallies = {f: Tally(f) for f in ("untp-dcc", "untp-dte", "untp-dpp", "catenax", "pdf")}
    try:
        db = store.db
        lots = [r["lot_id"] for r in db.rows("SELECT lot_id FROM lots WHERE status = 'closed' ORDER BY lot_id")]
        for lot in lots:
            ev = build_evidence(store, db, lot)
            docs = {f: render_as(ev, f) for f in ("untp-dcc", "untp-dte", "untp-dpp", "catenax", "pdf")}
            check_dcc(tallies["untp-dcc"], db, lot, json.loads(docs["untp-dcc"]))
            check_dte(tallies["untp-dte"], db, lot, json.loads(docs["untp-dte"]))
            check_dpp(tallies["untp-dpp"], db, lot, json.loads(docs["untp-dpp"]), docs["untp-dcc"], docs["untp-dte"])
            check_catenax(tallies["catenax"], db, lot, json.loads(docs["catenax"]))
            check_certificate(tallies["pdf"], db, lot, pdf_text(docs["pdf"]), ev.issuer.name)
    finally:
        store.close()
    for t in tallies.values():
        print(f"{work}: {len(lots)} lots, {t.summary()}")
        for m in t.mismatches[:10]:
            print("  " + m)
    return 1 if any(t.mismatches for t in tallies.values()) or not lots else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
