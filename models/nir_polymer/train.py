"""Train the 8-LED Plastic Scanner (DB2.1) polymer model on every board and day, and score it per session.

Why this design: the raw LED values differ ~3x between sessions (LED resistors, spacer), so each row is
divided by the mean white-reference (spectralon) row of its own session; linear models on log/SNV
features did not transfer between sessions (35-45 %), k nearest neighbours on log reflectance did best.
``OTHER`` rows are kept as neighbours labelled ``unknown``; a row whose k neighbours are far (mean
distance above a threshold chosen by leave-one-session-out inside the training sessions) is ``unknown``.
Scoring: leave one session (board/day) out; each fold's model is exported to ONNX and the held-out
session's CSV (its reference rows included) is classified by `junkan agent nir-classify`
(models/nir_eval.py); the naive baseline predicts the training sessions' most common class.
Also scored the same way: held out by sample id (an item's scans in every file together, 5 folds) and a
held-out session with its items removed from every training session, i.e. new items on a new board/day.
The reported ``p`` is calibrated (calibrate.py: per label, the precision measured on items held out inside the
training rows); each fold's held-out rows give its reliability (mean p vs accuracy, Brier, ECE) before (the
neighbours' vote share the graph used to report) and after.
Writes weights.npz, model.json, metrics.json and nir_polymer.onnx.
Run: ``.venv/bin/python models/nir_polymer/train.py`` (about 20 s); ``--keep DIR`` keeps the fold files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from models.nir_eval import nir_classify, read_table, score, write_table  # noqa: E402
from models.nir_polymer import calibrate  # noqa: E402
from models.nir_polymer.export_onnx import ONNX_NAME, export  # noqa: E402

DATA = Path(os.environ.get("JUNKAN_NIR_DATA", HERE.parents[2] / "shared" / "data" / "nir"))
LED = ["940", "1050", "1200", "1300", "1450", "1550", "1650", "1720"]
LABELS = ["PP", "PE", "PET", "PS", "PVC", "unknown"]
LABEL_MAP = {"HDPE": "PE", "LDPE": "PE", "OTHER": "unknown"}
WHITE_IDS = ["spectralon", "spec"]
KS = (1, 3, 5, 9)
HEADER = ["dataset", "board", "sample_id", "polymer", *LED]


def load() -> list[list[str]]:
    """All rows of the three files in one layout: dataset, board, sample_id, polymer, 8 LEDs."""
    out = []
    for name in ("plasticscanner_db21_board01_train.csv", "plasticscanner_db21_board01_test.csv"):
        header, rows = read_table(DATA / name)
        for r in rows:
            out.append(["20220531_DB2.1_first_dataset", "board01", r[header.index("ID")],
                        r[header.index("Type")].upper(), *[r[header.index(c)] for c in LED]])
    header, rows = read_table(DATA / "plasticscanner_db21_more.csv")
    for r in rows:
        out.append([r[header.index(c)] for c in HEADER])
    return out


def session(r: list[str]) -> str:
    return f"{r[1]} {r[0][:8]}"


def is_ref(r: list[str]) -> bool:
    return r[3] in ("REFERENCE", "SPECTRALON")


def normalised(rows: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(reflectance, label, session, sample_id) of the sample rows; raw / the session's white mean."""
    white: dict[str, list[list[float]]] = {}
    for r in rows:
        if r[3] == "SPECTRALON" or (r[3] == "REFERENCE" and r[2].lower() in WHITE_IDS):
            white.setdefault(session(r), []).append([float(v) for v in r[4:]])
    keep = [r for r in rows if not is_ref(r)]
    ref = np.array([np.mean(white[session(r)], axis=0) for r in keep])
    x = np.array([[float(v) for v in r[4:]] for r in keep]) / ref
    y = np.array([LABEL_MAP.get(r[3], r[3]) for r in keep])
    return x, y, np.array([session(r) for r in keep]), np.array([r[2] for r in keep])


def feature_matrix(n: int = len(LED)) -> np.ndarray:
    """log reflectance -> [log, log - mean(log) (brightness removed), neighbouring-LED differences], one matrix.

    Why: the log keeps the level that separates transparent from opaque items, the centred log removes a
    sample's overall brightness (colour, thickness), the differences are the band slopes; as one linear map
    on the log it is a single MatMul in the ONNX graph.
    """
    eye = np.eye(n)
    diff = eye[:, 1:] - eye[:, :-1]
    return np.hstack([eye, eye - 1.0 / n, diff])


def feats(x: np.ndarray) -> np.ndarray:
    return np.log(np.clip(x, 1e-3, 100.0)) @ feature_matrix()


def knn(train: np.ndarray, ty: np.ndarray, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(majority label of the k nearest, their mean distance) per row; ties go to the first label."""
    d = np.sqrt(np.maximum(((x[:, None, :] - train[None, :, :]) ** 2).sum(axis=2), 0))
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    votes = np.array([[np.sum(ty[row] == c) for c in LABELS] for row in nn])
    return np.array(LABELS)[votes.argmax(axis=1)], np.take_along_axis(d, nn, axis=1).mean(axis=1)


def choose(f: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[int, float, float]:
    """(k, threshold, inner accuracy): the k of ``KS`` with the best inner leave-one-session-out accuracy."""
    best = max((choose_threshold(f, y, s, k), k) for k in KS)  # ties: the larger k
    return best[1], best[0][1], best[0][0]


def choose_threshold(f: np.ndarray, y: np.ndarray, s: np.ndarray, k: int) -> tuple[float, float]:
    """(inner accuracy, mean-distance threshold) maximising row accuracy over leave-one-session-out inside the
    training set (the held-out session never takes part)."""
    pred, dist = np.empty(len(y), dtype=object), np.empty(len(y))
    for held in sorted(set(s)):
        te = s == held
        pred[te], dist[te] = knn(f[~te], y[~te], f[te], k)
    cands = np.concatenate([np.unique(dist), [np.inf]])
    accs = np.array([np.mean(np.where(dist > t, "unknown", pred) == y) for t in cands])
    i = int(np.flatnonzero(accs == accs.max())[-1])  # the most permissive of the best
    thr = float(cands[i]) if np.isfinite(cands[i]) else float(dist.max() * 10)
    return float(accs[i]), thr


def slope(thr: float) -> float:
    return 40.0 / max(thr, 1e-6)


def fit_calibration(f: np.ndarray, y: np.ndarray, items: np.ndarray, k: int,
                    thr: float) -> tuple[np.ndarray, dict[str, Any]]:
    """The p table from these (training) rows alone: items held out by sample id inside them."""
    return calibrate.fit(f, y, items, k, thr, LABELS, "unknown", by_sample_folds)


def save(f: np.ndarray, y: np.ndarray, k: int, thr: float, out: Path, card: dict[str, Any],
         cal: np.ndarray) -> None:
    out.mkdir(parents=True, exist_ok=True)
    onehot = np.array([[float(t == c) for c in LABELS] for t in y])
    np.savez(out / "weights.npz", train=f.astype(np.float32), onehot=onehot, k=np.array(k),
             features=feature_matrix(), threshold=np.array(thr), calibration=cal,
             slope=np.array(slope(thr)), unknown_idx=np.array(LABELS.index("unknown")))
    export(out / "weights.npz", out)
    (out / "labels.txt").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    card = {"name": "nir_polymer", "onnx": ONNX_NAME, "labels": "labels.txt", "wavelengths_nm": [float(w) for w in LED],
            "led5_nm_actual": 1460, "input_units": "raw / session white reference", "normalise": "session_white",
            "white_reference_ids": WHITE_IDS, "unknown_label": "unknown", "truth_label_map": LABEL_MAP,
            "features": "log, log - mean(log), LED differences", "k": k, "distance_threshold": round(thr, 4),
            "p": "calibrated: per label (and all-k-agree or not), how often it was right on items held out by "
                 "sample id inside the training rows (calibrate.py); not the neighbours' vote share", **card}
    (out / "model.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")


def item(sample_id: str) -> str:
    """One key per physical item across files: board01 2022 writes ``2``, the other file ``002``; box-C IDs are
    upper case in one 2023 file and lower case in the other (SOURCES.md)."""
    return sample_id.strip().lstrip("0").upper() or "0"


def by_sample_folds(items: np.ndarray, n: int = 5) -> list[np.ndarray]:
    """Held-out masks: the sorted item keys dealt round-robin into ``n`` folds (IDs are blocks per polymer, so
    every fold gets each polymer); an item is held out in every session it was scanned in."""
    keys = sorted(set(items.tolist()))
    return [np.isin(items, keys[i::n]) for i in range(n)]


def run_fold(rows: list[list[str]], f: np.ndarray, y: np.ndarray, s: np.ndarray, tr: np.ndarray,
             te: np.ndarray, out: Path) -> dict[str, Any]:
    """Choose k and the threshold inside ``tr`` (leave-one-session-out), export the fold's model to ``out``,
    write the held-out rows (their sessions' reference rows first) to ``out``.csv and score that file with
    `junkan agent nir-classify`; the naive baseline is the training rows' most common class."""
    k, thr, inner = choose(f[tr], y[tr], s[tr])
    samples = [r for r in rows if not is_ref(r)]
    items = np.array([item(r[2]) for r in samples])
    cal, _ = fit_calibration(f[tr], y[tr], items[tr], k, thr)
    save(f[tr], y[tr], k, thr, out, {"fit_for_sorting": False, "fitness_reason": "cross-validation fold model"}, cal)
    held_sessions = set(s[te].tolist())
    held_rows = [r for r in rows if is_ref(r) and session(r) in held_sessions]
    held_rows += [r for r, t in zip(samples, te, strict=True) if t]
    csv_path = out.parent / f"{out.name}_heldout.csv"
    write_table(csv_path, HEADER, held_rows)
    results = nir_classify(out, csv_path)
    sc = score(results, [r[3] for r in held_rows], [r[2] for r in held_rows], LABEL_MAP)
    got = [res for res in results if not res.get("reference")]
    if len(got) != int(te.sum()) or any("p" not in res for res in got):
        raise RuntimeError(f"{out}: nir-classify gave {len(got)} results for {int(te.sum())} rows, or errors")
    right = [res["polymer"] == t for res, t in zip(got, y[te], strict=True)]
    majority = Counter(y[tr]).most_common(1)[0][0]
    return {"rows": sc["rows"], "rows_right": sc["rows_right"], "row_accuracy": sc["row_accuracy"],
            "samples": sc["samples"], "samples_right": sc["samples_right"], "k": k, "threshold": round(thr, 4),
            "inner_accuracy": round(inner, 4), "naive_majority": majority,
            "naive_accuracy": round(float(np.mean(y[te] == majority)), 4),
            "knn_without_rejection_accuracy": round(float(np.mean(knn(f[tr], y[tr], f[te], k)[0] == y[te])), 4),
            "per_class": sc["per_class"], "confusion": sc["confusion"],
            "p_after": calibrate.calibration([res["p"] for res in got], right),
            "p_before": calibrate.calibration(vote_share_p(f[tr], y[tr], f[te], k, thr), right)}


def vote_share_p(train: np.ndarray, ty: np.ndarray, x: np.ndarray, k: int, thr: float) -> np.ndarray:
    """The p the graph reported before calibration (numpy): the top of votes * (1 - gate) + gate * e_unknown."""
    v, dist = calibrate.votes(train, ty, x, k, LABELS)
    gate = 1.0 / (1.0 + np.exp(-slope(thr) * (dist - thr)))
    scores = v * (1 - gate)[:, None]
    scores[:, LABELS.index("unknown")] += gate
    return scores.max(axis=1)


def pooled(folds: list[dict[str, Any]]) -> dict[str, Any]:
    right, rows = sum(fd["rows_right"] for fd in folds), sum(fd["rows"] for fd in folds)
    naive = sum(round(fd["naive_accuracy"] * fd["rows"]) for fd in folds)
    return {"folds": folds, "pooled_rows_right": right, "pooled_rows": rows,
            "pooled_row_accuracy": round(right / rows, 4), "pooled_naive_rows_right": naive,
            "worst_fold": min(fd["row_accuracy"] for fd in folds),
            **{key: calibrate.pool([fd[key] for fd in folds]) for key in ("p_before", "p_after")}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", type=Path, help="leave each fold's model directory and held-out CSV here")
    args = ap.parse_args()
    rows = load()
    x, y, s, sid = normalised(rows)
    items = np.array([item(v) for v in sid])
    f = feats(x)
    work = args.keep or Path(tempfile.mkdtemp(prefix="led8_cv_"))
    splits: dict[str, list[dict[str, Any]]] = {"leave_one_session_out": [], "by_sample_id": [],
                                               "new_items_on_held_out_session": []}
    for n, held in enumerate(sorted(set(s))):
        te = s == held
        fd = {"held_out": held, **run_fold(rows, f, y, s, ~te, te, work / f"fold{n}")}
        splits["leave_one_session_out"].append(fd)
        # the same session held out, and its items removed from every training session: new items, new day
        tr = ~te & ~np.isin(items, items[te])
        fd2 = {"held_out": held, "training_rows": int(tr.sum()), **run_fold(rows, f, y, s, tr, te, work / f"new{n}")}
        splits["new_items_on_held_out_session"].append(fd2)
        print(f"{held}: {fd['rows_right']}/{fd['rows']} = {fd['row_accuracy']}, naive {fd['naive_majority']} "
              f"{fd['naive_accuracy']}; its items unseen: {fd2['row_accuracy']}")
    for n, te in enumerate(by_sample_folds(items)):
        fd = {"held_out_items": sorted(set(items[te].tolist())), **run_fold(rows, f, y, s, ~te, te, work / f"ids{n}")}
        splits["by_sample_id"].append(fd)
        print(f"sample-id fold {n}: {fd['rows_right']}/{fd['rows']} = {fd['row_accuracy']}, "
              f"naive {fd['naive_accuracy']}")
    folds = splits["leave_one_session_out"]
    worst = min(fd["row_accuracy"] for fd in folds)
    fit_ok = bool(worst >= 0.70)
    k, thr, inner = choose(f, y, s)
    cal, cal_inner = fit_calibration(f, y, items, k, thr)
    per_fold = ", ".join(f"{fd['held_out']}: {fd['row_accuracy']:.1%}" for fd in folds)
    reason = f"leave-one-board/day-out row accuracy {per_fold}; criterion: >= 70 % on every held-out board/day"
    save(f, y, k, thr, HERE, {"fit_for_sorting": fit_ok, "fitness_reason": reason}, cal)
    metrics: dict[str, Any] = {
        "data": {"sessions": sorted(set(s)), "rows": len(y), "items": len(set(items.tolist())),
                 "per_session": dict(Counter(s.tolist()))},
        **{name: pooled(fds) for name, fds in splits.items()},
        "final": {"features": "log, log - mean(log), LED differences", "k": k,
                  "distance_threshold": round(thr, 4), "inner_accuracy": round(inner, 4),
                  "calibration": cal_inner},
        "fit_for_sorting": fit_ok,
        "command": ("junkan agent nir-classify --model models/nir_polymer "
                    "../shared/data/nir/plasticscanner_db21_more.csv"),
    }
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    for name in splits:
        print(name, json.dumps({k: v for k, v in metrics[name].items() if k not in ("folds", "p_before", "p_after")}))
        for key in ("p_before", "p_after"):
            print(f"  {key}:", json.dumps({k: v for k, v in metrics[name][key].items() if k != "bins"}))


if __name__ == "__main__":
    main()
