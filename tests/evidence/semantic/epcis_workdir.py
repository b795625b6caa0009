"""The EPCIS semantic checks on a scenario's real store (devices, readings and graph as the line wrote them):

    junkan sim scenario tv_housings_bfr --seed 1 --duration 60 --workdir /tmp/tv
    python -m tests.evidence.semantic.epcis_workdir /tmp/tv [--gs1]   # prints lots, events, fields, mismatches

Every closed lot's EPCIS document (private ids, or the suite's GS1 keys with --gs1; no specs) is checked field
by field against SQL on the store, as ``test_epcis_semantics`` does for the fixture lots; exit 1 on a mismatch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gateway.evidence.build import build_evidence
from gateway.evidence.formats import render_as
from gateway.store import open_store
from junkan.core.evidence import Issuer
from tests.evidence.semantic.test_epcis_semantics import GS1, PLAIN, Checker, check_document


def main(work: Path, issuer: Issuer = PLAIN) -> int:
    store = open_store(f"sqlite:///{work / 'gateway.db'}")
    try:
        lots = [r["lot_id"] for r in store.db.rows("SELECT lot_id FROM lots WHERE status = 'closed' ORDER BY lot_id")]
        c = Checker()
        for lot in lots:
            doc = json.loads(render_as(build_evidence(store, store.db, lot, issuer=issuer, specs=[]), "epcis"))
            check_document(c, store.db, lot, doc, issuer)
    finally:
        store.close()
    print(f"{work}: {len(lots)} lots, {c.events} events, {c.checked} fields checked, {len(c.mismatches)} mismatches")
    for m in c.mismatches[:20]:
        print("  " + m)
    return 1 if c.mismatches or not lots else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), GS1 if "--gs1" in sys.argv[2:] else PLAIN))
