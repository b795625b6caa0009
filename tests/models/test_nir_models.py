"""NIR models: the shipped files load with onnxruntime, `junkan agent nir-classify` reproduces the card's
figures on the shared data, unknown spectra are rejected, and bad input gives JSON errors, never a traceback."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parents[2]
NIR256 = ROOT / "models" / "nir_polymer_nir256"
LED8 = ROOT / "models" / "nir_polymer"
sys.path.insert(0, str(ROOT))


def lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.splitlines() if x.strip()]


@pytest.mark.parametrize("model_dir", [NIR256, LED8], ids=["nir256", "led8"])
def test_model_files_load_small_and_carry_fitness(model_dir: Path) -> None:
    card = json.loads((model_dir / "model.json").read_text())
    onnx_path = model_dir / card["onnx"]
    assert onnx_path.stat().st_size < 1_000_000
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    n = len(card["wavelengths_nm"])
    labels = (model_dir / card["labels"]).read_text().split()
    probs = sess.run(None, {"reflectance": np.full((2, n), 0.5 if n == 8 else 50.0, np.float32)})[0]
    assert probs.shape == (2, len(labels)) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert card["fit_for_sorting"] is metrics["fit_for_sorting"]  # the card's field is what was measured


def test_nir256_reproduces_card_figures(shared_dir: Path, junkan) -> None:  # type: ignore[no-untyped-def]
    from models.nir_eval import read_table, score

    path = shared_dir / "data" / "nir" / "avantes_nir256_train.csv"
    res = junkan("agent", "nir-classify", "--model", str(NIR256), str(path))
    assert res.returncode == 0, res.stderr
    out = lines(res.stdout)
    header, rows = read_table(path)
    assert [o["row"] for o in out] == list(range(len(rows)))
    pol = [r[header.index("polymer")] for r in rows]
    sid = [r[header.index("sample_id")] for r in rows]
    got = score(out, pol, sid, {"OTHER": "unknown"})
    want = json.loads((NIR256 / "metrics.json").read_text())["final"]["all_data_resubstitution"]
    assert got == want
    assert all(o.get("reference") for o, p in zip(out, pol, strict=True) if p == "SPECTRALON")


def test_nir256_one_cv_fold_reproduced(shared_dir: Path, tmp_path: Path) -> None:
    """Fold 0 retrained, exported and classified through the command gives the card's fold figures."""
    from tests.models.nir256_folds import reproduce_fold

    fold = json.loads((NIR256 / "metrics.json").read_text())["cv"]["folds"][0]
    k, thr, sc = reproduce_fold(set(fold["heldout_samples"]), shared_dir / "data" / "nir", tmp_path)
    assert (k, thr) == (fold["components"], fold["threshold"])
    assert (sc["samples_right"], sc["rows_right"]) == (fold["samples_right"], fold["rows_right"])


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_nir256_rejects_spectra_it_cannot_place(tmp_path: Path, junkan) -> None:  # type: ignore[no-untyped-def]
    """Flat, noisy and sloped spectra are no polymer: they must come out unknown."""
    card = json.loads((NIR256 / "model.json").read_text())
    wl = np.array(card["wavelengths_nm"])
    rng = np.random.default_rng(3)
    spectra = [np.full(len(wl), 60.0), 50 + 20 * rng.standard_normal(len(wl)), np.linspace(10, 90, len(wl)),
               40 + 30 * np.sin(wl / 15.0)]
    header = ["sample_id", "polymer", *[f"{w:.2f}" for w in wl]]
    rows = [[f"x{i}", "OTHER", *[f"{v:.3f}" for v in np.clip(s, 1, None)]] for i, s in enumerate(spectra)]
    res = junkan("agent", "nir-classify", "--model", str(NIR256), str(write_csv(tmp_path / "x.csv", header, rows)))
    assert [o["polymer"] for o in lines(res.stdout)] == ["unknown"] * len(spectra)


def test_nir256_other_series_comes_out_unknown(shared_dir: Path, junkan) -> None:  # type: ignore[no-untyped-def]
    """The OTHER clusters that are no named polymer (ABS-like 922/KL912/KL919/KL920/lego) are rejected."""
    path = shared_dir / "data" / "nir" / "avantes_nir256_train.csv"
    out = lines(junkan("agent", "nir-classify", "--model", str(NIR256), str(path)).stdout)
    abs_like = [o for o in out if o["sample_id"] in {"922", "KL912", "KL919", "KL920", "lego"}]
    assert len(abs_like) == 8 and all(o["polymer"] == "unknown" for o in abs_like)


def test_nir_classify_output_format_and_bad_rows(tmp_path: Path, junkan) -> None:  # type: ignore[no-untyped-def]
    card = json.loads((LED8 / "model.json").read_text())
    wl = [f"{w:g}" for w in card["wavelengths_nm"]]
    header = ["dataset", "board", "sample_id", "polymer", "scan", *wl, "color"]
    white = [0.2, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.05]
    rows = [
        ["d1", "b1", "spectralon", "REFERENCE", 1, *white, "white"],
        ["d1", "b1", "010", "PP", 1, *[v * 0.7 for v in white], "red"],
        ["d1", "b1", "011", "PP", 1, "0.1", "abc", *white[2:], "red"],  # bad cell
        ["d2", "b1", "012", "PET", 1, *white, ""],  # session without a white reference
        ["d1", "b1", "013", "PP", 1, *white[:4], "", *white[5:], ""],  # empty cell
    ]
    res = junkan("agent", "nir-classify", "--model", str(LED8), str(write_csv(tmp_path / "s.csv", header, rows)))
    assert res.returncode == 0 and "Traceback" not in res.stderr
    out = lines(res.stdout)
    assert [o["row"] for o in out] == [0, 1, 2, 3, 4]
    assert out[0] == {"row": 0, "sample_id": "spectralon", "reference": True}
    assert set(out[1]) == {"row", "sample_id", "polymer", "p"} and out[1]["sample_id"] == "010"
    assert out[1]["polymer"] in (LED8 / "labels.txt").read_text().split() and 0 < out[1]["p"] <= 1
    assert "1050" in out[2]["error"] and "white" in out[3]["error"] and "1450" in out[4]["error"]


def test_nir_classify_bad_model_or_file_is_one_json_error(tmp_path: Path, junkan) -> None:  # type: ignore[no-untyped-def]
    res = junkan("agent", "nir-classify", "--model", str(tmp_path), str(tmp_path / "none.csv"))
    assert res.returncode == 2 and "model.json" in lines(res.stdout)[0]["error"]
    f = write_csv(tmp_path / "w.csv", ["sample_id", "polymer", "940"], [["1", "PP", "0.1"]])
    res = junkan("agent", "nir-classify", "--model", str(LED8), str(f))
    assert res.returncode == 2 and "no column for wavelength" in lines(res.stdout)[0]["error"]


def test_led8_onnx_equals_training_prediction(shared_dir: Path, junkan) -> None:  # type: ignore[no-untyped-def]
    """The shipped graph's answers on a shared file are the numpy kNN's (features, k, threshold of the card)."""
    from models.nir_eval import read_table
    from models.nir_polymer import train

    card = json.loads((LED8 / "model.json").read_text())
    w = np.load(LED8 / "weights.npz")
    rows = [r for r in train.load() if r[0].startswith("2023")]
    x, _, _, _ = train.normalised(rows)
    pred, dist = train.knn(w["train"].astype(float), np.array(train.LABELS)[w["onehot"].argmax(axis=1)],
                           train.feats(x), card["k"])
    want = np.where(dist > card["distance_threshold"], "unknown", pred)
    path = shared_dir / "data" / "nir" / "plasticscanner_db21_more.csv"
    header, raw = read_table(path)
    out = lines(junkan("agent", "nir-classify", "--model", str(LED8), str(path)).stdout)
    got = [o["polymer"] for o, r in zip(out, raw, strict=True)
           if r[header.index("dataset")].startswith("2023") and not o.get("reference")]
    assert len(got) == len(want) and np.mean(np.array(got) == want) >= 0.99  # float32 ties may differ


def test_led8_folds_reproduced_through_the_command(tmp_path: Path) -> None:
    """One held-out board/day fold and one held-out sample-id fold, retrained, exported and classified by
    `junkan agent nir-classify`, give the card's figures (k, threshold, rows right, naive baseline)."""
    from models.nir_polymer import train

    metrics = json.loads((LED8 / "metrics.json").read_text())
    rows = train.load()
    x, y, s, sid = train.normalised(rows)
    f, items = train.feats(x), np.array([train.item(v) for v in sid])
    day = next(fd for fd in metrics["leave_one_session_out"]["folds"] if fd["held_out"] == "board01 20230117")
    te = s == day["held_out"]
    got = train.run_fold(rows, f, y, s, ~te, te, tmp_path / "day")
    assert {k: got[k] for k in ("rows", "rows_right", "k", "threshold", "naive_accuracy")} == \
        {k: day[k] for k in ("rows", "rows_right", "k", "threshold", "naive_accuracy")}
    ids = metrics["by_sample_id"]["folds"][4]
    te = np.isin(items, ids["held_out_items"])
    assert not set(items[~te].tolist()) & set(ids["held_out_items"])  # no held-out item left in training
    got = train.run_fold(rows, f, y, s, ~te, te, tmp_path / "ids")
    assert (got["rows"], got["rows_right"], got["k"]) == (ids["rows"], ids["rows_right"], ids["k"])


def test_led8_sample_id_folds_partition_items_and_rows() -> None:
    """Every item (one physical sample, whatever file or session it was scanned in) is held out exactly once."""
    from models.nir_polymer import train

    _, y, _, sid = train.normalised(train.load())
    items = np.array([train.item(v) for v in sid])
    assert train.item("002") == train.item("2") and train.item("a01c") == train.item("A01C")
    masks = train.by_sample_folds(items)
    assert np.array_equal(np.sum(masks, axis=0), np.ones(len(y)))
    for m in masks:
        assert not set(items[m].tolist()) & set(items[~m].tolist())
        assert {"PP", "PE", "PET", "PS"} <= set(y[m].tolist())
    metrics = json.loads((LED8 / "metrics.json").read_text())
    assert sum(fd["rows"] for fd in metrics["by_sample_id"]["folds"]) == len(y) == metrics["data"]["rows"]
