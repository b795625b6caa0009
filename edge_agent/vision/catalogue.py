"""Known model numbers (the gateway's composition catalogue) to rank and correct OCR'd candidates.

A model number read by OCR is only useful if the gateway can match it to a composition record; when
the agent holds the list of models the gateway knows, a read that is one OCR confusion (O/0, I/1, S/5,
B/8, Z/2, G/6) or one character away from a known model is that model far more often than not. Matches
are flagged (``exact``, ``confusable``, ``near``) so the gateway and an operator see what was corrected.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_SEPARATORS = re.compile(r"[\s\-_./]+")
_FOLD = str.maketrans({"O": "0", "Q": "0", "I": "1", "L": "1", "S": "5", "B": "8", "Z": "2", "G": "6"})
MIN_NEAR_LEN = 6  # one edit in a shorter code changes too much of it


def fold(model: str) -> str:
    """Comparison key: upper case, no separators, confusable letters as their digits."""
    return _SEPARATORS.sub("", model.upper()).translate(_FOLD)


def _deletions(s: str) -> set[str]:
    return {s[:i] + s[i + 1 :] for i in range(len(s))} | {s}


@dataclass(frozen=True)
class CatalogueMatch:
    model: str  # the catalogue's spelling
    kind: str  # exact | confusable | near
    manufacturer: str | None


@dataclass
class Catalogue:
    """Known models, indexed by folded key and by single deletions (a one-edit look-up without a scan)."""

    models: dict[str, str | None] = field(default_factory=dict)  # model -> manufacturer
    _by_fold: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _by_del: dict[str, set[str]] = field(default_factory=dict, repr=False)
    _by_upper: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for model in self.models:
            self._by_upper[model.upper()] = model
            key = fold(model)
            self._by_fold.setdefault(key, []).append(model)
            if len(key) >= MIN_NEAR_LEN:
                for d in _deletions(key):
                    self._by_del.setdefault(d, set()).add(model)

    def __len__(self) -> int:
        return len(self.models)

    def match(self, read: str) -> CatalogueMatch | None:
        """The catalogue model ``read`` is (exactly, up to confusions, or one edit away), if unambiguous."""
        exact = self._by_upper.get(read.strip().upper())
        if exact is not None:
            return CatalogueMatch(exact, "exact", self.models[exact])
        key = fold(read)
        if not key:
            return None
        same = self._by_fold.get(key, [])
        if len(same) == 1:
            return CatalogueMatch(same[0], "confusable", self.models[same[0]])
        if same or len(key) < MIN_NEAR_LEN:
            return None  # two known models fold alike: not ours to choose
        near: set[str] = set()
        for d in _deletions(key):
            near |= self._by_del.get(d, set())
        if len(near) == 1:
            (model,) = near
            return CatalogueMatch(model, "near", self.models[model])
        return None


def load_catalogue(models: list[str], path: str | None) -> Catalogue:
    """Models from the config list plus a file: .json (list of strings or of {model, manufacturer}),
    .csv with a ``model`` column (and optional ``manufacturer``), else one model per line (# comments).

    Raises ValueError naming the file when it cannot be read, so a bad path stops the agent at start.
    """
    out: dict[str, str | None] = {m.strip(): None for m in models if m.strip()}
    if path:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise ValueError(f"model catalogue {p}: {exc}") from exc
        if p.suffix.lower() == ".json":
            try:
                rows = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"model catalogue {p}: {exc}") from exc
            if not isinstance(rows, list):
                raise ValueError(f"model catalogue {p}: expected a JSON list")
            for r in rows:
                if isinstance(r, str) and r.strip():
                    out[r.strip()] = None
                elif isinstance(r, dict) and str(r.get("model") or "").strip():
                    out[str(r["model"]).strip()] = r.get("manufacturer") or None
        elif p.suffix.lower() == ".csv":
            reader = csv.DictReader(text.splitlines())
            if not reader.fieldnames or "model" not in reader.fieldnames:
                raise ValueError(f"model catalogue {p}: no 'model' column")
            for row in reader:
                if (row.get("model") or "").strip():
                    out[row["model"].strip()] = (row.get("manufacturer") or "").strip() or None
        else:
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    out[line] = None
    return Catalogue(out)
