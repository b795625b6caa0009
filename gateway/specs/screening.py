"""Regulatory BFR screening of every lot, with or without a buyer spec (EU POPs Reg. 2019/1021, RoHS).

A lot is ``pops_suspect`` when

- a regulated brominated flame retardant (PBDE, PBB, HBCDD groups of ``composition.model.CARRY_OVER``) is
  declared in a plastic part of one of its source products (it may have carried over into the recyclate), or
- its XRF total Br exceeds the screening threshold (default 2000 mg/kg: the cut-off of the WEEE BFR sort,
  Hennebert & Filella 2018, CLC/TS 50625-3-1; ``shared/reference/standards.md`` §6).

The Br statistic is the lot's **maximum** over the XRF readings (the LOD when every reading was below it),
not the p95: each flake is a piece of one homogeneous material (the unit RoHS limits apply to), and a
single flake above 2000 mg/kg shows BFR plastic reached the lot, i.e. the sort did not remove it. The p95
of 20-40 spot checks hides a brominated share of a few percent, which at ~10,000 mg/kg decaBDE is already
above the 350/200 mg/kg POPs limits for the lot as a mixture. Being conservative costs a lab test, not a
wrong claim.

A suspect lot's recycled-content claim stays blocked until a lab confirmation (``lab.py``) passes; a
failing one keeps it blocked and marks the lot ``lab_failed``. Pure: no I/O.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.specs.lab import LabConfirmation, lab_verdict
from gateway.specs.reason_text import reason, text
from junkan.core.censored import BOUND_SUFFIX, contaminant_bound
from junkan.core.evidence import Reason, Screening, SubstancesDeclared, SubstancesUnknown
from junkan.core.measurement_model import Measurement

SUSPECT_GROUPS = ("PBDE", "PBB", "HBCDD")
DEFAULT_BR_THRESHOLD_PPM = 2000.0


class ScreeningSettings(BaseModel):
    """Gateway settings of the always-on BFR screening (``screening.*``)."""

    model_config = ConfigDict(extra="forbid")

    br_threshold_ppm: float = Field(
        default=DEFAULT_BR_THRESHOLD_PPM, gt=0, le=DEFAULT_BR_THRESHOLD_PPM, description="A lot whose XRF total "
        "Br maximum (mg/kg) is above this is POPs-suspect: recycled-content claims are blocked until a lab "
        "confirmation (GC-MS, IEC 62321-6) passes. Default and upper bound 2000 mg/kg, the WEEE BFR sorting "
        "cut-off (CLC/TS 50625-3-1): a plant may screen stricter, never looser.")


def br_statistic(measurement: Measurement | None) -> tuple[float | None, str | None]:
    """The lot's Br screening value: its max, the LOD when every reading was below it (censored), or the
    highest LOD when '<LOD' readings have a LOD above every detect (they may exceed it: ``max bound (LOD)``)."""
    br = measurement.contaminants.get("Br") if measurement is not None else None
    if br is None or br.n == 0:
        return None, None
    if (bound := contaminant_bound(br, "max")) is not None and br.n_below_lod < br.n:
        return float(bound), "max" + BOUND_SUFFIX
    if br.max_ppm is not None:
        return float(br.max_ppm), "max_ppm"
    if br.n_below_lod == br.n and br.lod_ppm is not None:
        return float(br.lod_ppm), "lod_ppm (all below LOD)"
    return None, None


def declared_bfr_codes(declared: SubstancesUnknown | SubstancesDeclared) -> list[Reason]:
    """Regulated BFRs declared in plastic parts of the sources, with the source mass share declaring them."""
    out = []
    for s in declared.substances:
        if s.group in SUSPECT_GROUPS and s.can_carry_over:
            models = s.declared_in_models[:5] + (["..."] if len(s.declared_in_models) > 5 else [])
            figures = {"name": s.name, "group": s.group, "cas": s.cas or "n/a", "models": models}
            out.append(reason("bfr.declared", share=s.source_share, **figures) if s.source_share is not None
                       else reason("bfr.declared_share_unknown", **figures))
    return out


def screen(measurement: Measurement | None, declared: SubstancesUnknown | SubstancesDeclared,
           lab: LabConfirmation | None, as_of: date, settings: ScreeningSettings | None = None) -> Screening:
    """Pure: the lot's screening status with its causes, figures and the lab verdict if any."""
    threshold = (settings or ScreeningSettings()).br_threshold_ppm
    value, stat = br_statistic(measurement)
    bfr = declared_bfr_codes(declared)
    causes = [reason("screen.declared", substance=d) for d in bfr]
    if value is not None and value > threshold:
        br = measurement.contaminants["Br"] if measurement is not None else None
        p95 = reason("screen.p95", p95=br.p95_ppm) if br is not None and br.p95_ppm is not None else None
        causes.append(reason("screen.br_above", stat=stat, value=value, threshold=threshold, n=br.n if br else 0,
                             p95=p95))
    hbcdd = any(s.group == "HBCDD" and s.can_carry_over for s in declared.substances)
    verdict = lab_verdict(lab, as_of, hbcdd_required=hbcdd) if lab is not None else None
    status: Literal["clear", "pops_suspect", "lab_confirmed", "lab_failed"]
    if verdict is not None and verdict.result == "fail":
        status = "lab_failed"
    elif not causes:
        status = "clear"
    elif verdict is not None and verdict.result == "pass":
        status = "lab_confirmed"
    else:
        status = "pops_suspect"
    return Screening(status=status, pops_suspect=status in ("pops_suspect", "lab_failed"),
                     causes=[text(c) for c in causes], br_statistic=stat, br_value_ppm=value,
                     br_threshold_ppm=threshold, declared_bfr=[text(d) for d in bfr], lab=verdict,
                     cause_codes=causes, declared_bfr_codes=bfr)


def claim_reason_codes(s: Screening) -> list[Reason]:
    """Reasons the screening blocks recycled-content claims (empty: it does not)."""
    if s.status == "lab_failed" and s.lab is not None:
        return [reason("claims.lab_failed", confirmation=s.lab.confirmation_id, reasons=s.lab.reason_codes)]
    if s.status != "pops_suspect":
        return []
    lab = None
    if s.lab is not None:
        lab = reason("claims.lab_not_clearing", confirmation=s.lab.confirmation_id, reasons=s.lab.reason_codes)
    return [reason("claims.pops_suspect", causes=s.cause_codes, lab=lab)]


def data_gap_codes(s: Screening) -> list[Reason]:
    """What the evidence lacks because of the screening."""
    if s.status == "pops_suspect":
        return [reason("gap.pops_suspect", n=len(s.causes))]
    if s.status == "clear" and s.br_value_ppm is None:
        return [reason("gap.no_br")]
    return []
