"""`junkan agent nir-classify --model DIR FILE.csv`: classify every row of a spectra CSV, one JSON line per row.

Why a command and not only the driver: model cards must quote figures that anyone can reproduce from the
shipped files, and a plant engineer checks a new spectrometer or board by classifying an export of it.
The CSV is laid out as ``../shared/data/nir`` is: ``sample_id`` and ``polymer`` columns (``ID``/``Type``
accepted), one column per wavelength named by its nm, white-reference rows labelled ``SPECTRALON`` or
``REFERENCE``; other columns are ignored. Rows are numbered from 0 (the first data row). A model whose
``model.json`` says ``normalise: session_white`` gets each row divided by the mean white-reference row of
its session (``dataset`` + ``board`` columns when present, else the whole file).
Output per row: ``{"row", "sample_id", "polymer", "p"}``; a reference row ``{"row", "sample_id",
"reference": true}``; a row that cannot be classified ``{"row", "sample_id", "error"}``. Never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE_LABELS = frozenset({"REFERENCE", "SPECTRALON"})
ID_COLUMNS = ("sample_id", "ID", "id")
POLYMER_COLUMNS = ("polymer", "Type", "type")
SESSION_COLUMNS = ("dataset", "board")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("nir-classify", help="Classify the spectra rows of a CSV with a NIR model directory.")
    p.add_argument("--model", required=True, metavar="DIR",
                   help="Model directory with model.json, e.g. models/nir_polymer_nir256")
    p.add_argument("file", help="CSV: sample_id, polymer, one column per wavelength (nm)")
    p.set_defaults(func=_run)


class ModelDirError(Exception):
    """The model directory cannot be used (missing/invalid model.json, ONNX or labels)."""


@dataclass
class NirModel:
    """A model directory: the card (model.json), the classifier and its wavelength grid."""

    card: dict[str, Any]
    labels: list[str]
    wavelengths: list[float]
    classifier: Any

    def classify(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.classifier.classify(x.astype(np.float32)))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(answer index, probabilities) per row; the model's own ``label`` output when it has one."""
        idx, probs = self.classifier.predict(x.astype(np.float32))
        return np.asarray(idx), np.asarray(probs)


def load_model(directory: Path) -> NirModel:
    from edge_agent.drivers.nir_spectrometer import PolymerClassifier, model_card
    from edge_agent.vision.detector import ModelError

    card_path = directory / "model.json"
    try:
        card = model_card(card_path)
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{card_path}: {exc}") from None
    if card is None:
        raise ModelDirError(f"{card_path}: no model card")
    try:
        wavelengths = [float(w) for w in card["wavelengths_nm"]]
        clf = PolymerClassifier(directory / card["onnx"], directory / card["labels"], len(wavelengths))
    except (KeyError, TypeError, ValueError, OSError, ModelError) as exc:
        raise ModelDirError(f"{directory}: {exc}") from None
    return NirModel(card, clf.labels, wavelengths, clf)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _nm(name: str) -> float | None:
    try:
        value = float(name)
    except ValueError:
        return None
    return value if 300.0 <= value <= 3000.0 else None


def wavelength_columns(header: list[str], wavelengths: list[float], tol: float = 0.01) -> list[int]:
    """Index of the column for each model wavelength; ValueError naming the missing ones."""
    found = [(i, nm) for i, h in enumerate(header) if (nm := _nm(h.strip())) is not None]
    cols, missing = [], []
    for w in wavelengths:
        match = [i for i, nm in found if abs(nm - w) <= tol]
        if match:
            cols.append(match[0])
        else:
            missing.append(f"{w:g}")
    if missing:
        raise ValueError(f"no column for wavelength(s) {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} nm")
    return cols


def parse_values(row: list[str], cols: list[int], header: list[str]) -> np.ndarray:
    """The row's values at the model's wavelengths; ValueError saying which cell is unusable."""
    out = np.empty(len(cols))
    for k, c in enumerate(cols):
        cell = row[c].strip() if c < len(row) else ""
        try:
            v = float(cell)
        except ValueError:
            raise ValueError(f"column {header[c]}: not a number {cell!r}") from None
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"column {header[c]}: {v} is not a reflectance")
        out[k] = v
    return out


def is_white(polymer: str, sample_id: str, white_ids: list[str]) -> bool:
    p = polymer.strip().upper()
    return p == "SPECTRALON" or (p == "REFERENCE" and sample_id.strip().lower() in white_ids)


def classify_rows(model: NirModel, header: list[str], rows: list[list[str]]) -> list[dict[str, Any]]:
    """One output dict per data row, in order (see the module docstring)."""
    id_col, pol_col = _column(header, ID_COLUMNS), _column(header, POLYMER_COLUMNS)
    cols = wavelength_columns(header, model.wavelengths)
    sess_cols = [i for name in SESSION_COLUMNS if (i := _column(header, (name,))) is not None]
    white_ids = [str(s).lower() for s in model.card.get("white_reference_ids", ["spectralon", "spec"])]
    normalise = model.card.get("normalise", "none")

    def cell(row: list[str], col: int | None) -> str:
        return row[col].strip() if col is not None and col < len(row) else ""

    out: list[dict[str, Any]] = []
    values: dict[int, np.ndarray] = {}
    whites: dict[tuple[str, ...], list[np.ndarray]] = {}
    for i, row in enumerate(rows):
        sid, pol = cell(row, id_col), cell(row, pol_col)
        item: dict[str, Any] = {"row": i, "sample_id": sid}
        out.append(item)
        try:
            vals = parse_values(row, cols, header)
        except ValueError as exc:
            item["error"] = str(exc)
            continue
        if pol.upper() in REFERENCE_LABELS:
            item["reference"] = True
            if is_white(pol, sid, white_ids):
                whites.setdefault(tuple(cell(row, c) for c in sess_cols), []).append(vals)
            continue
        values[i] = vals
    todo = []
    for i, vals in values.items():
        if normalise == "session_white":
            ref = whites.get(tuple(cell(rows[i], c) for c in sess_cols))
            if not ref:
                out[i]["error"] = "no white-reference row (SPECTRALON / REFERENCE spectralon) in this row's session"
                continue
            white = np.mean(ref, axis=0)
            if np.any(white <= 0):
                out[i]["error"] = "white reference has a zero or negative channel"
                continue
            vals = vals / white
        todo.append((i, vals))
    if todo:
        answers, probs = model.predict(np.array([v for _, v in todo]))
        for (i, _), best, pr in zip(todo, answers, probs, strict=True):
            if not np.all(np.isfinite(pr)):
                out[i]["error"] = "model output is not finite"
                continue
            out[i].update(polymer=model.labels[best], p=round(float(pr[best]), 4))
    return out


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    if not table:
        raise ValueError("empty file")
    return [h.strip() for h in table[0]], [r for r in table[1:] if any(c.strip() for c in r)]


def _run(args: argparse.Namespace) -> int:
    try:
        model = load_model(Path(args.model))
    except ModelDirError as exc:
        print(json.dumps({"row": None, "error": str(exc)}))
        return 2
    try:
        header, rows = read_csv(Path(args.file))
        results = classify_rows(model, header, rows)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        print(json.dumps({"row": None, "error": f"{args.file}: {exc}"}))
        return 2
    for item in results:
        sys.stdout.write(json.dumps(item) + "\n")
    return 0
