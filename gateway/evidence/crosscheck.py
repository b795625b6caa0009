"""Camera identifications vs intake records (issue 17 item 5): when the models a camera identified in a lot
disagree with what its intake record declares, the intake's product split (and what the source records
declare through it, e.g. decaBDE) is not shown as fact: the evidence gets a data gap, a claims reason and
an ``IdentMismatch`` naming the lot, the expected and the seen models.

Two comparisons, each only where both sides exist:

- a source lot with an intake record (``intake_products``) and camera reads on the same lot;
- the lot itself (an output lot with the ident camera on its line) against every intake record of its
  sources together.

A camera does not see every item (read rate, interval), so not seeing a model is a disagreement only when
the camera identified enough items that the model should have shown up: an intake model with an expected
``>= MIN_EXPECTED`` camera items (its item share x items seen) and none seen; a camera model not on the
record counts when seen ``>= MIN_UNDECLARED`` times and ``>= UNDECLARED_SHARE`` of the items seen (one
misread is not a false record). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.specs.reason_text import reason, text
from gateway.traceability.rows import ModelCount
from junkan.core.evidence import IdentMismatch

MIN_SEEN = 3
MIN_EXPECTED = 3.0
MIN_UNDECLARED = 2
UNDECLARED_SHARE = 0.1


def compare(lot_id: str, intake_lots: list[str], expected: dict[str, int], seen: dict[str, int]
            ) -> IdentMismatch | None:
    """Pure: the mismatch between one intake declaration and the camera's models, or None if they agree
    (or the camera saw too little to tell)."""
    n_seen = sum(seen.values())
    n_expected = sum(expected.values())
    if n_seen < MIN_SEEN or n_expected == 0:
        return None
    problems = []
    missing = {m: n for m, n in expected.items() if seen.get(m, 0) == 0 and n / n_expected * n_seen >= MIN_EXPECTED}
    if missing:
        problems.append(reason("ident.missing", items=[f"{n} x {m}" for m, n in sorted(missing.items())],
                               n_seen=n_seen))
    extra = {m: n for m, n in seen.items() if m not in expected and n >= MIN_UNDECLARED
             and n / n_seen >= UNDECLARED_SHARE}
    if extra:
        problems.append(reason("ident.extra", items=[f"{n} x {m}" for m, n in sorted(extra.items())]))
    if not problems:
        return None
    why = reason("ident.mismatch", lot=lot_id, problems=problems)
    return IdentMismatch(lot_id=lot_id, intake_lots=sorted(intake_lots), expected=dict(sorted(expected.items())),
                         seen=dict(sorted(seen.items())), reason=text(why), reason_code=why)


def ident_mismatches(lot_id: str, source_ids: list[str], intake_products: Sequence[ModelCount],
                     camera: Sequence[ModelCount]) -> list[IdentMismatch]:
    """Pure: ``intake_products`` (rows lot_id, model, n_items) and ``camera`` (rows lot_id, model, n_items of
    matched or resolved identifications) of the lot and its sources -> every disagreement."""
    declared: dict[str, dict[str, int]] = {}
    for r in intake_products:
        per = declared.setdefault(r["lot_id"], {})
        per[r["model"]] = per.get(r["model"], 0) + int(r["n_items"] or 0)
    seen: dict[str, dict[str, int]] = {}
    for r in camera:
        if model := r["model"]:
            per = seen.setdefault(r["lot_id"], {})
            per[model] = per.get(model, 0) + int(r["n_items"])
    out = []
    for src in sorted(set(source_ids)):
        if src in declared and src in seen and (found := compare(src, [src], declared[src], seen[src])):
            out.append(found)
    sources_declared = [s for s in sorted(set(source_ids)) if s in declared and s != lot_id]
    if lot_id in seen and lot_id not in declared and sources_declared:
        total: dict[str, int] = {}
        for s in sources_declared:
            for m, n in declared[s].items():
                total[m] = total.get(m, 0) + n
        if found := compare(lot_id, sources_declared, total, seen[lot_id]):
            out.append(found)
    return out
