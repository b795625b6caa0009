"""Retrain one NIR256 fold (the samples in ``held`` left out) exactly as train.py does, export it, classify the
held-out rows through `junkan agent nir-classify` and score them: the one path the card tests re-derive from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def reproduce_fold(held: set[str], data_dir: Path, tmp_path: Path) -> tuple[int, float, dict[str, Any]]:
    """(components, threshold, score) of the fold, the inner choice made on the training part only."""
    from models.nir_eval import nir_classify, read_table, score, write_table
    from models.nir_polymer_nir256 import train

    header, rows = read_table(data_dir / train.FILE)
    i_sid, i_pol = header.index("sample_id"), header.index("polymer")
    wl_cols = [i for i, h in enumerate(header) if h.replace(".", "").isdigit()]
    d = train.deriv_matrix(np.array([float(header[i]) for i in wl_cols]))
    tr = [r for r in rows if r[i_sid] not in held and r[i_pol] != "SPECTRALON"]
    te = [r for r in rows if r[i_sid] in held]
    f = train.features(np.array([[float(r[i]) for i in wl_cols] for r in tr]), d)
    y, g = np.array([r[i_pol] for r in tr]), np.array([r[i_sid] for r in tr])
    k, thr, _ = train.choose(f, y, g)
    train.save(train.fit(f, y, k), d, thr, k, [header[i] for i in wl_cols], tmp_path / "m", {"fit_for_sorting": False})
    write_table(tmp_path / "held.csv", header, te)
    sc = score(nir_classify(tmp_path / "m", tmp_path / "held.csv"), [r[i_pol] for r in te], [r[i_sid] for r in te],
               {"OTHER": "unknown"})
    return k, round(thr, 3), sc
