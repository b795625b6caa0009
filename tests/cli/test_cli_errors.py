"""CLI mistakes answer in one line with a non-zero code: missing stores are never created, unknown ids are
errors, missing files give no traceback, and tables keep their columns when piped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.store import open_store
from junkan.cli import main
from tests.dashboard.seed import MEASUREMENT


def _one_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_read_command_never_creates_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "nowhere" / "x.db"
    for argv in (["gateway", "export", "--db", str(db), "lots"],
                 ["gateway", "evidence", "LOT-1", "--db", str(db), "--format", "json"],
                 ["gateway", "lineage", "LOT-1", "--db", str(db)]):
        assert main(argv) == 2, argv
        assert "no such gateway store" in _one_line(capsys.readouterr().err)
        assert not db.parent.exists()


def test_unknown_lot_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "g.db"
    open_store(f"sqlite:///{db}").close()
    assert main(["gateway", "export", "--db", str(db), "readings", "--lot", "NO-SUCH"]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert _one_line(out.err) == "junkan: lot 'NO-SUCH' not found"
    assert main(["gateway", "evidence", "NO-SUCH", "--db", str(db)]) == 1
    assert "NO-SUCH" in _one_line(capsys.readouterr().err)


def test_missing_input_files_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["sim", "replay", str(missing)]) == 2
    assert _one_line(capsys.readouterr().err) == f"junkan: {missing}: No such file or directory"
    assert main(["sim", "score", "--truth", str(missing), "--db", str(tmp_path / "g.db")]) == 2
    assert str(missing) in _one_line(capsys.readouterr().err)
    truth = tmp_path / "truth.jsonl"
    truth.write_text("", encoding="utf-8")
    assert main(["sim", "score", "--truth", str(truth), "--db", str(tmp_path / "g.db")]) == 2
    assert "no such gateway store" in _one_line(capsys.readouterr().err)


def test_score_table_keeps_its_columns_when_piped(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    lot = "line-tv-S002-0001-a-long-lot-identifier"
    (tmp_path / "truth.jsonl").write_text(json.dumps({"lot_id": lot, "net_mass_kg": 200.0}) + "\n", encoding="utf-8")
    (tmp_path / "m.jsonl").write_text(json.dumps({"lot_id": lot, "net_mass_kg": 200.5, "status": "closed",
                                                  "measurement": MEASUREMENT}) + "\n", encoding="utf-8")
    assert main(["sim", "score", "--truth", str(tmp_path / "truth.jsonl"), "--measurements",
                 str(tmp_path / "m.jsonl")]) in (0, 1, 3)  # 3: a wrong number unflagged (the fake lot)
    out = capsys.readouterr().out
    header = next(x for x in out.splitlines() if "mass err %" in x)
    for col in ("lot", "true kg", "polymer err pp", "CI width pp", "true Br ppm", "Br status", "degraded/missing"):
        assert col in header, header  # at rich's 80 columns they wrap over several lines
    assert any(lot in x for x in out.splitlines())
