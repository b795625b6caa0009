"""NIR256 card figures: a leave-one-sample-out fold retrained and classified through `junkan agent nir-classify`
gives the stored fold, the pooled figures are the sum of the folds, the card quotes them and the fitness
field follows the stated rule. Why: the card's numbers must be what the command gives, not hand-typed."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.models.nir256_folds import reproduce_fold

ROOT = Path(__file__).resolve().parents[2]
NIR256 = ROOT / "models" / "nir_polymer_nir256"
sys.path.insert(0, str(ROOT))


def metrics() -> dict[str, Any]:
    return json.loads((NIR256 / "metrics.json").read_text())


@pytest.mark.parametrize("sample", ["KL916", "601", "010"])
def test_nir256_loso_fold_reproduced(sample: str, shared_dir: Path, tmp_path: Path) -> None:
    """The fold holding out ``sample``: same inner choice, same answers from the command."""
    fold = next(f for f in metrics()["cv_loso"]["folds"] if f["heldout_samples"] == [sample])
    k, thr, sc = reproduce_fold({sample}, shared_dir / "data" / "nir", tmp_path)
    assert (k, thr) == (fold["components"], fold["threshold"])
    assert (sc["samples_right"], sc["rows_right"], sc["wrong_samples"]) == (
        fold["samples_right"], fold["rows_right"], fold["wrong_samples"])


@pytest.mark.parametrize("split", ["cv", "cv_loso"])
def test_nir256_pooled_figures_are_the_folds(split: str) -> None:
    cv = metrics()[split]
    folds = cv["folds"]
    assert cv["samples"] == sum(f["samples"] for f in folds) == 66  # every sample held out exactly once
    assert sorted(s for f in folds for s in f["heldout_samples"]) == sorted({s for f in folds
                                                                             for s in f["heldout_samples"]})
    assert cv["samples_right"] == sum(f["samples_right"] for f in folds)
    assert cv["rows_right"] == sum(f["rows_right"] for f in folds)
    assert cv["wrong_samples"] == sorted(s for f in folds for s in f["wrong_samples"])
    assert cv["samples_right"] == sum(v["samples_right"] for v in cv["per_class"].values())
    assert sum(v["answered"] for v in cv["precision"].values()) == cv["rows"]


def test_nir256_card_quotes_the_metrics_and_fitness_follows_the_rule() -> None:
    from models.nir_polymer_nir256 import train

    m = metrics()
    card = (NIR256 / "MODEL_CARD.md").read_text()
    loso, kfold = m["cv_loso"], m["cv"]
    lead = re.search(r"leave-one-sample-out (\d+)/(\d+) samples \(([\d.]+) %\)\*\*, 10-fold grouped CV (\d+)/(\d+)",
                     card)
    assert lead, "card headline missing"
    assert [int(lead[1]), int(lead[2]), float(lead[3]), int(lead[4]), int(lead[5])] == [
        loso["samples_right"], loso["samples"], round(100 * loso["sample_accuracy"], 1),
        kfold["samples_right"], kfold["samples"]]
    row = re.search(r"\| \*\*all\*\* \| \*\*(\d+)/66 = [\d.]+ %\*\* \| \*\*(\d+)/95 = [\d.]+ %\*\* \| "
                    r"\*\*(\d+)/66 = [\d.]+ %\*\* \| \*\*(\d+)/95", card)
    assert row and [int(x) for x in row.groups()] == [loso["samples_right"], loso["rows_right"],
                                                       kfold["samples_right"], kfold["rows_right"]]
    for c, label in [("PP", "PP"), ("PET", "PET"), ("HDPE", "HDPE"), ("PS", "PS"), ("PVC", "PVC"),
                     ("unknown", "OTHER → unknown")]:
        line = next(x for x in card.splitlines() if x.startswith(f"| {label} |"))
        first = re.findall(r"(\d+)/(\d+)", line)[0]
        assert (int(first[0]), int(first[1])) == (loso["per_class"][c]["samples_right"],
                                                  loso["per_class"][c]["samples"]), label
    want = train.meets_target(kfold) and train.meets_target(loso)
    assert m["fit_for_sorting"] is want
    assert json.loads((NIR256 / "model.json").read_text())["fit_for_sorting"] is want


def test_nir256_other_depth_is_recomputed_from_the_folds(shared_dir: Path) -> None:
    """The card's spectral-twin table (`other_named_depth`) follows from the stored held-out distances."""
    from models.nir_eval import read_table
    from models.nir_polymer_nir256 import train

    header, rows = read_table(shared_dir / "data" / "nir" / train.FILE)
    pol = np.array([r[header.index("polymer")] for r in rows])
    sid = np.array([r[header.index("sample_id")] for r in rows])
    loso = metrics()["cv_loso"]
    got = train.other_depth(loso, loso["folds"], pol, sid)
    assert got == loso["other_named_depth"]
    assert all(pol[sid == s][0] == "OTHER" for s in got)
    assert got["908"]["polymer_samples_as_far_or_farther"] >= 40  # a twin: nearly every PET is farther


def test_nir256_second_day_figures_come_from_the_command(junkan) -> None:  # type: ignore[no-untyped-def]
    """The shipped model on the second day's file gives `metrics.json` → `second_day` and the card's row."""
    from models.nir_eval import read_table, score
    from models.nir_polymer_nir256 import train

    res = junkan("agent", "nir-classify", "--model", str(NIR256), str(train.DAY2))
    assert res.returncode == 0, res.stderr
    out = [json.loads(x) for x in res.stdout.splitlines() if x.strip()]
    header, rows = read_table(train.DAY2)
    card = json.loads((NIR256 / "model.json").read_text())
    assert [float(h) for h in header[6:]] == card["wavelengths_nm"]  # the model's grid, in order
    pol = [r[header.index("polymer")] for r in rows]
    sid = [r[header.index("sample_id")] for r in rows]
    want = metrics()["second_day"]
    got = score(out, pol, sid, {"OTHER": "unknown"})
    assert {k: got[k] for k in ("samples_right", "rows_right", "per_class", "confusion")} == {
        k: want["all"][k] for k in ("samples_right", "rows_right", "per_class", "confusion")}
    new = want["new_items"]["samples"]
    assert want["all"]["samples"] == new + want["seen_items"]["samples"] == len(set(sid))
    text = (NIR256 / "MODEL_CARD.md").read_text()
    assert (f"**{got['samples_right']}/{got['samples']} = {100 * got['sample_accuracy']:.1f} %** | "
            f"{want['new_items']['samples_right']}/{new} = ") in text
