"""Composition import: every format into the real store (--gateway-db), hostile and messy input, re-import."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.composition import importer, repo
from gateway.composition.importer import import_path, parse_file
from gateway.composition.model import cas_problem, fraction_of, mass_mg
from gateway.composition.xml_formats import FormatError
from gateway.store.db import Database

DATA = Path(__file__).parent / "data"


def shai_bytes(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.write(DATA / "shai" / name, name)
    return buf.getvalue()


def count(db: Database, table: str) -> int:
    return int(db.rows(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


def test_ipc_class_d_materials_and_substances_normalised_to_mg() -> None:
    fmt, result = parse_file((DATA / "tv_ipc1752a_classD.xml").read_bytes(), "tv")
    assert fmt == "ipc1752a" and not result.skipped
    (tv,) = result.products
    assert (tv.model, tv.manufacturer, tv.category, tv.mass_mg) == ("AZ-32LX1", "Aozora Electronics", "TV", 7.9e6)
    cover = tv.parts[0].materials[0]
    assert cover.mass_mg == 1.65e6 and cover.material_class == "HIPS-FR"
    deca, sb = cover.substances
    assert deca.cas == "1163-19-5" and deca.mass_mg == 198_000 and deca.fraction == pytest.approx(0.12)
    assert sb.fraction == pytest.approx(0.04) and sb.mass_mg == pytest.approx(66_000)
    assert deca.dsl_ref == "IEC:IEC62474:D31.00"


def test_iec62474_and_class_c_and_csv() -> None:
    fmt, mon = parse_file((DATA / "monitor_iec62474.xml").read_bytes(), "mon")
    assert fmt == "iec62474" and mon.products[0].parts[0].materials[0].substances[0].mass_mg == pytest.approx(88_000)
    assert any("not in junkan's substance reference list" in w.reason for w in mon.warnings)
    fmt, c = parse_file((DATA / "classC_ipc1752a.xml").read_bytes(), "c")
    assert c.products[0].declaration_class == "C"
    assert c.products[0].parts[0].materials[0].substances[0].cas == "1163-19-5"
    fmt, csv_result = parse_file((DATA / "products.csv").read_bytes(), "csv")
    assert fmt == "csv" and [p.model for p in csv_result.products] == ["AZ-50LX3", "HR-300"]
    stand = csv_result.products[0].parts[1]
    assert stand.mass_mg == 900_000


def test_chemsherpa_shai_is_a_zip_of_iec_articles() -> None:
    fmt, result = parse_file(shai_bytes("washer_article.xml"), "x.shai")
    assert fmt == "chemsherpa-ai" and result.products[0].model == "HW-7I0-LID"
    assert sum(m.mass_mg or 0 for m in result.products[0].parts[0].materials) == 950_000


@pytest.mark.parametrize("name", ["xxe.xml", "billion_laughs.xml", "malformed.xml"])
def test_hostile_or_malformed_xml_rejected_whole(gateway_store: Any, name: str) -> None:
    db = gateway_store.db
    report = import_path(db, DATA / "bad" / name)
    assert report["status"] == "rejected" and report["error"]
    assert count(db, "comp_products") == 0
    assert "root:" not in report["error"]  # /etc/passwd never read into the report


def test_messy_records_report_each_skip_with_reason(gateway_store: Any) -> None:
    report = import_path(gateway_store.db, DATA / "bad" / "messy_ipc.xml")
    reasons = " | ".join(s["reason"] for s in report["skipped"])
    warned = " | ".join(s["reason"] for s in report["warnings"])
    assert report["status"] == "imported" and report["products"] == ["MS-1"]
    assert "has no unit" in reasons and "furlong" in reasons and "itemNumber missing" in reasons
    assert "check digit" in warned and "kept, flagged cas_invalid" in warned
    subs = repo.substances_of(gateway_store.db, ["MS-1"])
    # the invalid CAS is kept with a flag (was dropped), the bad-unit one kept as presence
    assert [(s["cas"], s["flags"].startswith('["cas_invalid')) for s in subs] == [("1163-19-6", True),
                                                                                  ("50-00-0", False)]
    assert report["read"][0]["substances_flagged"] == 1


def test_reimport_updates_never_duplicates(gateway_store: Any, tmp_path: Path) -> None:
    db = gateway_store.db
    import_path(db, DATA / "products.csv")
    n_subs = count(db, "comp_substances")
    import_path(db, DATA / "products.csv")
    assert count(db, "comp_products") == 2 and count(db, "comp_substances") == n_subs
    changed = tmp_path / "p.csv"
    changed.write_text((DATA / "products.csv").read_text().replace("14.5,kg", "15.0,kg"))
    import_path(db, changed)
    assert repo.get_product(db, "AOZ-AZ-50LX3")["mass_mg"] == 15e6  # type: ignore[index]
    assert count(db, "comp_products") == 2


def test_failure_mid_file_leaves_nothing(gateway_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    db = gateway_store.db
    real = repo.save_products

    def explode(db_: Database, products: list[Any], source: str, data: bytes) -> None:
        real(db_, products[:1], source, data)
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "save_products", explode)
    with pytest.raises(RuntimeError):
        import_path(db, DATA / "products.csv")
    assert count(db, "comp_products") == 0 and count(db, "comp_substances") == 0


def test_nul_in_a_cell_is_imported_on_either_store(gateway_store: Any) -> None:
    """SQLite keeps the NUL; PostgreSQL TEXT cannot, so its store writes U+FFFD (was a DataError)."""
    db = gateway_store.db
    report = importer.import_bytes(db, b"product_id,model\nP-1,A\x00B\n", "nul.csv")
    assert report["status"] == "imported", report
    assert db.rows("SELECT model FROM comp_products")[0]["model"] in ("A\x00B", "A\ufffdB")


def test_csv_with_unknown_columns_rejected() -> None:
    with pytest.raises(FormatError, match="unknown column"):
        parse_file(b"product_id,model,colour\nA,B,red\n", "x.csv")


def test_units_and_cas_helpers() -> None:
    assert mass_mg("1.5", "kg") == 1.5e6 and fraction_of("250", "ppm") == pytest.approx(2.5e-4)
    for bad in [(None, "g"), ("3", None), ("3", "furlong"), ("-1", "g"), ("x", "g")]:
        with pytest.raises(ValueError):
            mass_mg(*bad)
    assert cas_problem("7439-92-1") is None and cas_problem("7439-92-2") and cas_problem("74-3992-1")


def test_cli_import_with_progress_and_exit_code(gateway_db_url: str) -> None:
    db = gateway_db_url
    ok = subprocess.run([sys.executable, "-m", "junkan.cli", "gateway", "import-composition",
                         str(DATA / "tv_ipc1752a_classD.xml"), str(DATA / "products.csv"), "--db", str(db)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "imported" in ok.stderr and "AZ-32LX1" not in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "junkan.cli", "gateway", "import-composition",
                          str(DATA / "bad" / "xxe.xml"), "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "REJECTED" in bad.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode),
                 st.sampled_from([b"<Main/>", b"PK\x03\x04junk", b"product_id,model\n\x00,\x00\n", b"<a><b></a>",
                                  b"product_id,model\nA,\n"])))
def test_any_bytes_import_or_reject_never_raise(gateway_store: Any, data: bytes) -> None:
    db = gateway_store.db
    with db.tx():  # one store for all examples (a database each would be slow on PostgreSQL): start empty
        for table in ("comp_substances", "comp_products", "comp_imports"):
            db.execute(f"DELETE FROM {table}")
    report = importer.import_bytes(db, data, "fuzz")
    assert report["status"] in ("imported", "rejected")
    if report["status"] == "rejected":
        assert count(db, "comp_products") == 0 and report["error"]
