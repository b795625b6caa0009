"""Train the NIR polymer classifier (8 LED reflectances -> PP, PE, PET, PS, ABS, PC, PVC, PA, other).

Two models are trained and both are evaluated on the public Plastic Scanner test split (by sample ID,
as distributed; never used for any choice):
  A  synthetic spectra only (simulators/nir_spectrometer.py, literature band positions);
  B  synthetic spectra + the real *train* split (real rows weighted up). B is the one exported;
  C  real train split only, as a reference for how separable the 8 LED channels are at all.
Writes ``weights.npz`` (read by export_onnx.py) and ``metrics.json`` (quoted in MODEL_CARD.md).
Run: ``.venv/bin/python models/nir_polymer/train.py`` (about 30 s on one core).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from simulators.nir_spectrometer import CLASSES, LED_NM, sample  # noqa: E402

DATA = Path(os.environ.get("JUNKAN_NIR_DATA", "/work/shared/data/nir"))  # Plastic Scanner CSVs
REAL_NAMES = {"HDPE": "PE", "LDPE": "PE", "PP": "PP", "PET": "PET", "PS": "PS"}


def preprocess(x: np.ndarray) -> np.ndarray:
    """log reflectance, then per-spectrum centring and scaling (SNV): removes brightness and distance."""
    lg = np.log(np.clip(x, 1e-3, None))
    lg = lg - lg.mean(axis=1, keepdims=True)
    return lg / (np.sqrt((lg * lg).mean(axis=1, keepdims=True)) + 1e-6)


def load_real(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows of one split as reflectance (divided by the file's own Spectralon white reference)."""
    rows = list(csv.reader(path.open(encoding="utf-8")))[1:]
    ref = np.mean([[float(v) for v in r[3:]] for r in rows if r[0].lower() == "spectralon"], axis=0)
    x, y, ids = [], [], []
    for r in rows:
        if r[0].lower() == "spectralon" or r[0] not in REAL_NAMES:
            continue
        x.append(np.array([float(v) for v in r[3:]]) / ref)
        y.append(CLASSES.index(REAL_NAMES[r[0]]))
        ids.append(r[1])
    return np.array(x), np.array(y), ids


def fit(x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> LogisticRegression:
    model = LogisticRegression(C=3.0, max_iter=3000)
    model.fit(preprocess(x), y, sample_weight=weights)
    return model


def report(model: LogisticRegression, x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    pred = model.predict(preprocess(x))
    present = sorted(set(y.tolist()) | set(pred.tolist()))
    return {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "n": len(y),
        "labels": [CLASSES[k] for k in present],
        "confusion": confusion_matrix(y, pred, labels=present).tolist(),
    }


def main() -> None:
    xs, ys = sample(18000, seed=1)
    xv, yv = sample(3000, seed=2)
    xtr, ytr, ids_tr = load_real(DATA / "plasticscanner_db21_board01_train.csv")
    xte, yte, ids_te = load_real(DATA / "plasticscanner_db21_board01_test.csv")
    assert not set(ids_tr) & set(ids_te), "train and test share sample IDs"
    a = fit(xs, ys)
    w = np.concatenate([np.ones(len(ys)), np.full(len(ytr), 20.0)])
    b = fit(np.vstack([xs, xtr]), np.concatenate([ys, ytr]), w)
    metrics = {
        "wavelengths_nm": list(LED_NM),
        "A_synthetic_only": {
            "synthetic_holdout": report(a, xv, yv),
            "real_train": report(a, xtr, ytr),
            "real_test": report(a, xte, yte),
        },
        "B_synthetic_plus_real_train": {"synthetic_holdout": report(b, xv, yv), "real_test": report(b, xte, yte)},
        "C_real_train_only_reference": {"real_test": report(fit(xtr, ytr), xte, yte)},
        "real_test_samples": len(set(ids_te)),
        "real_train_samples": len(set(ids_tr)),
    }
    np.savez(
        HERE / "weights.npz",
        coef=b.coef_.astype(np.float32),
        intercept=b.intercept_.astype(np.float32),
        classes=np.array(b.classes_),
        wavelengths=np.array(LED_NM),
    )
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                k: (v if not isinstance(v, dict) else {kk: vv["accuracy"] for kk, vv in v.items()})
                for k, v in metrics.items()
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
