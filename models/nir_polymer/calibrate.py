"""Calibrated ``p`` for the 8-LED kNN: how often its label was right on items it had not seen, per label.

Why: the kNN's own score is the neighbours' vote share, 1.0 for every row when k = 1, while the model is right
on about a third of the rows of new items. ``p`` must be a measured frequency instead. Inside the training rows
only (never the held-out fold), every item is held out in turn (5 folds by sample id, an item's scans in every
session together, as ``train.by_sample_folds``), the fold's kNN (same k and threshold) labels it, and for each
label, and each vote bucket (all k neighbours agree, or not), the distribution of the true class is counted.
Smoothing (a Beta/Dirichlet prior of weight ``PRIOR``): a precision is pulled towards the pooled inner accuracy,
the other classes towards the training class frequencies; a vote bucket with fewer than ``MIN_BUCKET_ROWS``
inner rows uses its label's figures (with k = 1 every row is unanimous: one figure per label). Why by
item and not by board/day: a plant line only ever shows items the model has never seen; held out by board/day,
the same items are in another training session and the model is right twice as often (see MODEL_CARD.md).
The table is a Gather after the argmax in the ONNX graph (export_onnx.py), so every consumer reads the same p.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

PRIOR = 2.0  # rows' worth of prior; fixed before any figure was looked at
MIN_BUCKET_ROWS = 20
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def votes(train: np.ndarray, ty: np.ndarray, x: np.ndarray, k: int,
          labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(share of the k nearest per label [N, n_labels], their mean distance [N])."""
    d = np.sqrt(np.maximum(((x[:, None, :] - train[None, :, :]) ** 2).sum(axis=2), 0))
    nn = np.argsort(d, axis=1, kind="stable")[:, :k]
    v = np.array([[np.sum(ty[row] == c) for c in labels] for row in nn]) / k
    return v, np.take_along_axis(d, nn, axis=1).mean(axis=1)


def neighbours(train: np.ndarray, ty: np.ndarray, x: np.ndarray, k: int,
               labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(majority label, its vote share, mean distance of the k nearest) per row; ties go to the first label."""
    v, dist = votes(train, ty, x, k, labels)
    best = v.argmax(axis=1)
    return np.array(labels)[best], v[np.arange(len(best)), best], dist


def predict(train: np.ndarray, ty: np.ndarray, x: np.ndarray, k: int, thr: float,
            labels: Sequence[str], unknown: str) -> tuple[np.ndarray, np.ndarray]:
    """(label after the distance rejection, unanimous 0/1) per row, as the ONNX graph decides them."""
    lab, share, dist = neighbours(train, ty, x, k, labels)
    return np.where(dist > thr, unknown, lab), (share >= 0.999).astype(int)


def inner_predictions(f: np.ndarray, y: np.ndarray, folds: list[np.ndarray], k: int, thr: float,
                      labels: Sequence[str], unknown: str) -> tuple[np.ndarray, np.ndarray]:
    """Every training row labelled by a kNN that has not seen its item (``folds``: held-out masks)."""
    pred = np.empty(len(y), dtype=object)
    unan = np.zeros(len(y), dtype=int)
    for te in folds:
        if te.any() and (~te).any():
            pred[te], unan[te] = predict(f[~te], y[~te], f[te], k, thr, labels, unknown)
    return pred.astype(str), unan


def _row(counts: np.ndarray, c: int, prior: np.ndarray, p_prior: float) -> np.ndarray:
    """One smoothed distribution of the true class given label ``c``: ``counts`` per true class, ``prior`` the
    class distribution the others are pulled towards (its entry ``c`` ignored), ``p_prior`` the precision's."""
    n = counts.sum()
    p = (counts[c] + PRIOR * p_prior) / (n + PRIOR)
    rest = np.delete(counts, c) + PRIOR * np.delete(prior, c)
    rest = rest / rest.sum() if rest.sum() > 0 else np.full(len(rest), 1.0 / len(rest))
    return np.insert(rest * (1.0 - p), c, p)


def table(pred: np.ndarray, unan: np.ndarray, y: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """[2 * n_labels, n_labels]: row ``2 * label + unanimous`` is the smoothed distribution of the true class."""
    n = len(labels)
    idx = {c: i for i, c in enumerate(labels)}
    pi = np.array([np.mean(y == c) for c in labels])
    acc = float(np.mean(pred == y))
    out = np.zeros((2 * n, n))
    for c in range(n):
        sel = pred == labels[c]
        counts = np.bincount([idx[t] for t in y[sel]], minlength=n).astype(float)
        base = _row(counts, c, pi, acc)
        for b in (0, 1):
            cb = np.bincount([idx[t] for t in y[sel & (unan == b)]], minlength=n).astype(float)
            out[2 * c + b] = _row(cb, c, pi, acc) if cb.sum() >= MIN_BUCKET_ROWS else base
    return out


def fit(f: np.ndarray, y: np.ndarray, items: np.ndarray, k: int, thr: float, labels: Sequence[str],
        unknown: str, folds_of: Callable[[np.ndarray], list[np.ndarray]]) -> tuple[np.ndarray, dict[str, Any]]:
    """(calibration table, inner figures) from the training rows alone; ``folds_of(items)`` gives the masks."""
    pred, unan = inner_predictions(f, y, folds_of(items), k, thr, labels, unknown)
    tab = table(pred, unan, y, labels)
    per_label = {c: {"rows": int(np.sum(pred == c)), "right": int(np.sum((pred == c) & (y == c))),
                     "p": [round(float(tab[2 * i + b, i]), 4) for b in (0, 1)]}
                 for i, c in enumerate(labels)}
    return tab, {"inner_by_item_accuracy": round(float(np.mean(pred == y)), 4), "per_label": per_label}


def calibration(p: Sequence[float], right: Sequence[bool]) -> dict[str, Any]:
    """Reliability of ``p`` against whether the row was right: mean p vs accuracy, Brier score of p as the
    probability of being right, expected calibration error over ``BINS`` (rows-weighted |mean p - accuracy|)."""
    pa, ra = np.asarray(p, float), np.asarray(right, float)
    bins, ece = [], 0.0
    for i, (lo, hi) in enumerate(pairwise(BINS)):
        m = (pa >= lo) & ((pa < hi) if i < len(BINS) - 2 else (pa <= hi))
        if m.any():
            ece += m.sum() / len(pa) * abs(pa[m].mean() - ra[m].mean())
            bins.append({"p_from": lo, "p_to": hi, "rows": int(m.sum()), "mean_p": round(float(pa[m].mean()), 4),
                         "accuracy": round(float(ra[m].mean()), 4)})
    return {"rows": len(pa), "mean_p": round(float(pa.mean()), 4), "accuracy": round(float(ra.mean()), 4),
            "brier": round(float(np.mean((pa - ra) ** 2)), 4), "ece": round(float(ece), 4), "bins": bins}


def pool(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """``calibration`` of the rows of several folds together, from their per-bin figures (exact: fixed bins)."""
    rows = sum(p["rows"] for p in parts)

    def avg(key: str, items: list[dict[str, Any]]) -> float:
        return sum(i[key] * i["rows"] for i in items) / sum(i["rows"] for i in items)

    bins = []
    for lo, hi in pairwise(BINS):
        here = [b for p in parts for b in p["bins"] if b["p_from"] == lo]
        if here:
            bins.append({"p_from": lo, "p_to": hi, "rows": sum(b["rows"] for b in here),
                         "mean_p": round(avg("mean_p", here), 4), "accuracy": round(avg("accuracy", here), 4)})
    ece = sum(b["rows"] / rows * abs(b["mean_p"] - b["accuracy"]) for b in bins)
    return {"rows": rows, "mean_p": round(avg("mean_p", parts), 4), "accuracy": round(avg("accuracy", parts), 4),
            "brier": round(avg("brier", parts), 4), "ece": round(ece, 4), "bins": bins}
