"""Measure a demo/scenario working folder: evidence for every lot in every format, schema errors, timings,
signature checks, and how many single-byte flips of one JWS `junkan verify --key` catches. Open or empty
lots are refused (no evidence for them) and counted.

    python -m tests.evidence.measure_workdir WORKDIR     # WORKDIR holds gateway.db, keys/, plant_public_key.pem
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema

from gateway.evidence.exporters import EXPORTERS
from gateway.evidence.formats import produce
from gateway.evidence.issuable import NotIssuable
from gateway.store.sqlite import SqliteStore
from junkan.verify import verify
from tests.conftest import SHARED

SCHEMAS = {"epcis": "epcis/EPCIS-JSON-Schema.json", "untp-dcc": "untp/untp-dcc-schema-0.6.1.json",
           "untp-dte": "untp/untp-dte-schema-0.6.1.json", "untp-dpp": "untp/untp-dpp-schema-0.6.1.json",
           "catenax": "catenax/SecondaryMaterialContentCalculated-schema.json"}


def validator(name: str) -> Any:
    schema = json.loads((SHARED / "standards" / name).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def measure(work: Path) -> dict[str, Any]:
    out = work / "evidence"
    out.mkdir(exist_ok=True)
    validators = {fmt: validator(name) for fmt, name in SCHEMAS.items()}
    store = SqliteStore(work / "gateway.db")
    lots = [row["lot_id"] for row in store.list_lots(limit=100_000)]
    files, n_err, per, refused = 0, 0, {}, []  # type: ignore[var-annotated]
    t0 = time.perf_counter()
    for lot in list(lots):
        for fmt, entry in EXPORTERS.items():
            t = time.perf_counter()
            try:
                data, _ = produce(store, lot, fmt, work / "keys")
            except NotIssuable:
                refused.append(lot)
                lots.remove(lot)
                break
            per.setdefault(fmt, []).append(time.perf_counter() - t)
            (out / f"{lot}{entry.suffix}").write_bytes(data)
            files += 1
            if fmt in validators:
                errors = list(validators[fmt].iter_errors(json.loads(data)))
                n_err += len(errors)
                for e in errors[:2]:
                    print(lot, fmt, e.message[:150], file=sys.stderr)
    elapsed = time.perf_counter() - t0
    pub = str(work / "plant_public_key.pem")
    with contextlib.redirect_stdout(io.StringIO()):
        valid = sum(verify(str(out / f"{lot}.jwt"), key=pub)[0] == 0 for lot in lots)
    token = (out / f"{lots[0]}.jwt").read_bytes().rstrip(b"\n")
    tampered = work / "tampered.jwt"
    caught = 0
    with contextlib.redirect_stderr(io.StringIO()):
        for pos in range(len(token)):
            flipped = bytearray(token)
            flipped[pos] ^= 0x01
            tampered.write_bytes(bytes(flipped))
            caught += verify(str(tampered), key=pub)[0] != 0
    store.close()
    return {"lots": len(lots), "refused_open_or_empty": len(refused),
            "files": files, "schema_errors": n_err, "seconds": round(elapsed, 2),
            "median_ms": {f: round(1000 * sorted(v)[len(v) // 2], 1) for f, v in per.items()},
            "jws_valid": valid, "flip_positions": len(token), "flips_caught": caught}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
