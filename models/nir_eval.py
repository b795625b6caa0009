"""Scoring NIR models through `junkan agent nir-classify`, shared by the NIR models' train.py scripts.

Why through the command: the figures in the model cards must be what a user gets from the shipped
command on a CSV, not what a training script believes its numpy pipeline does. Each fold's model is
exported to a directory (model.json + .onnx + labels.txt), its held-out rows are written as a CSV in the
shared layout, and the command's JSON lines are scored against the CSV's ``polymer`` column.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    return [h.strip() for h in table[0]], [r for r in table[1:] if any(c.strip() for c in r)]


def write_table(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def nir_classify(model_dir: Path, csv_path: Path) -> list[dict[str, Any]]:
    """Run `junkan agent nir-classify --model DIR FILE` (the console script's own entry point)."""
    from junkan.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["agent", "nir-classify", "--model", str(model_dir), str(csv_path)])
    lines = [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]
    if rc != 0:
        raise RuntimeError(f"nir-classify exited {rc}: {lines}")
    return lines


def score(results: list[dict[str, Any]], truth: list[str], samples: list[str],
          label_map: dict[str, str]) -> dict[str, Any]:
    """Row and sample accuracy of the command's output; a sample is right only when all its rows are.

    ``truth`` is the CSV's polymer per row (mapped through ``label_map``, e.g. OTHER -> unknown);
    reference rows are not scored; a row with an error counts as wrong.
    """
    rows_ok: list[bool] = []
    per_class: dict[str, list[bool]] = defaultdict(list)
    by_sample: dict[str, list[bool]] = defaultdict(list)
    sample_class: dict[str, str] = {}
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for res, t, s in zip(results, truth, samples, strict=True):
        if res.get("reference"):
            continue
        t = label_map.get(t, t)
        pred = res.get("polymer", "error") if "error" not in res else "error"
        ok = pred == t
        rows_ok.append(ok)
        per_class[t].append(ok)
        by_sample[s].append(ok)
        sample_class[s] = t
        confusion[t][pred] += 1
    sample_ok = {s: all(v) for s, v in by_sample.items()}
    classes = sorted(per_class)
    return {
        "rows": len(rows_ok),
        "rows_right": sum(rows_ok),
        "row_accuracy": round(sum(rows_ok) / len(rows_ok), 4) if rows_ok else None,
        "samples": len(sample_ok),
        "samples_right": sum(sample_ok.values()),
        "sample_accuracy": round(sum(sample_ok.values()) / len(sample_ok), 4) if sample_ok else None,
        "per_class": {c: {"rows": len(per_class[c]), "rows_right": sum(per_class[c]),
                          "samples": sum(1 for s in sample_ok if sample_class[s] == c),
                          "samples_right": sum(1 for s, ok in sample_ok.items() if ok and sample_class[s] == c)}
                      for c in classes},
        "confusion": {c: dict(sorted(confusion[c].items())) for c in classes},
        "wrong_samples": sorted(s for s, ok in sample_ok.items() if not ok),
    }


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled figures over folds (each part from ``score``)."""
    rows = sum(p["rows"] for p in parts)
    right = sum(p["rows_right"] for p in parts)
    samples = sum(p["samples"] for p in parts)
    s_right = sum(p["samples_right"] for p in parts)
    per_class: dict[str, dict[str, int]] = {}
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for p in parts:
        for c, v in p["per_class"].items():
            acc = per_class.setdefault(c, {"rows": 0, "rows_right": 0, "samples": 0, "samples_right": 0})
            for k in acc:
                acc[k] += v[k]
        for c, row in p["confusion"].items():
            confusion[c].update(row)
    return {"rows": rows, "rows_right": right, "row_accuracy": round(right / rows, 4) if rows else None,
            "samples": samples, "samples_right": s_right,
            "sample_accuracy": round(s_right / samples, 4) if samples else None,
            "per_class": dict(sorted(per_class.items())),
            "confusion": {c: dict(sorted(v.items())) for c, v in sorted(confusion.items())},
            "wrong_samples": sorted(s for p in parts for s in p["wrong_samples"])}
