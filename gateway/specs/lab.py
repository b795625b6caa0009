"""Lab confirmation of a lot's brominated flame retardants (GC-MS per IEC 62321-6) and its verdict.

XRF total Br only bounds PBDE/PBB from above; when a lot is POPs-suspect, a lab result per congener group
decides. The verdict is pure: every regulated group is compared with the limit in force on the evidence
date (``regulatory_limits``: the dated EU POPs PBDE sum for articles from recovered material, RoHS
PBDE/PBB 1000 mg/kg, HBCDD 75 mg/kg from 2024-10-17). A below-LOD result counts as its LOD in the upper
bound (a sum of LODs may then be too high to show conformity: ``insufficient``, never a guess), and as 0
in the lower bound (a fail needs the measured values alone above the limit).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from gateway.specs.model import regulatory_limits
from gateway.specs.reason_text import reason, text
from junkan.core.evidence import Check, LabVerdict, Reason
from junkan.core.names import ID_PATTERN
from junkan.core.strict import STRICT, IsoDate, IsoDatetime

# Congener groups a GC-MS report states (IEC 62321-6 covers mono- to deca-BDE and -BB), and group sums.
PBDE_GROUPS = ("monoBDE", "diBDE", "triBDE", "tetraBDE", "pentaBDE", "hexaBDE", "heptaBDE", "octaBDE",
               "nonaBDE", "decaBDE")
PBB_GROUPS = ("monoBB", "diBB", "triBB", "tetraBB", "pentaBB", "hexaBB", "heptaBB", "octaBB", "nonaBB", "decaBB")
# EU POPs Annex I lists tetra-, penta-, hexa-, hepta- and decaBDE; its limit is on their sum.
POPS_PBDE = ("tetraBDE", "pentaBDE", "hexaBDE", "heptaBDE", "decaBDE")
ANALYTES = (*PBDE_GROUPS, *PBB_GROUPS, "PBDE", "PBB", "HBCDD")
Analyte = Literal[ANALYTES]  # type: ignore[valid-type]
Result = Literal["conformant", "non_conformant", "insufficient_data"]
HBCDD_SOURCE = "EU POPs Reg. 2019/1021 Annex I as amended by (EU) 2024/2555 (from 2024-10-17)"


class LabResult(BaseModel):
    """One analyte of the report: a measured value, or below the LOD with the LOD."""

    model_config = STRICT

    analyte: Analyte = Field(description="Congener group (tetraBDE, decaBDE, hexaBB, ...), a group sum "
                             "(PBDE, PBB: all congeners) or HBCDD.")
    value_mg_kg: float | None = Field(default=None, ge=0, le=1e6, allow_inf_nan=False,
                                      description="Measured concentration in mg/kg; null when below the LOD.")
    below_lod: bool = Field(default=False, description="Not detected: below the limit of detection.")
    lod_mg_kg: float | None = Field(default=None, gt=0, le=1e6, allow_inf_nan=False,
                                    description="Limit of detection in mg/kg (required when below_lod).")

    @model_validator(mode="after")
    def _value_or_lod(self) -> LabResult:
        if self.below_lod and (self.value_mg_kg is not None or self.lod_mg_kg is None):
            raise ValueError(f"{self.analyte}: a below-LOD result has no value and states its lod_mg_kg")
        if not self.below_lod and self.value_mg_kg is None:
            raise ValueError(f"{self.analyte}: give value_mg_kg or below_lod with lod_mg_kg")
        return self


class LabConfirmationIn(BaseModel):
    """A lab report of one lot as entered (API body / CLI file); the report file is hashed, not stored."""

    model_config = STRICT

    lab: str = Field(min_length=1, max_length=200, description="Laboratory name (and accreditation).")
    method: str = Field(min_length=1, max_length=200, description="Method, e.g. 'GC-MS IEC 62321-6:2015'.")
    analysed_on: IsoDate = Field(description="Date the sample was analysed (ISO 8601 date).")
    sample_ref: str | None = Field(default=None, max_length=200, description="Lab's sample or report number.")
    results: list[LabResult] = Field(min_length=1, max_length=64, description="Results per congener group.")
    report_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the report file.")
    report_file: str | None = Field(default=None, max_length=300, description="Report file name.")

    @model_validator(mode="after")
    def _unique(self) -> LabConfirmationIn:
        names = [r.analyte for r in self.results]
        if len(names) != len(set(names)):
            raise ValueError("each analyte is reported once")
        return self


class LabConfirmation(LabConfirmationIn):
    """A stored lab confirmation: the entry plus its id, lot, who entered it and when."""

    confirmation_id: str = Field(pattern=ID_PATTERN, description="Unique id of the confirmation.")
    lot_id: str = Field(pattern=ID_PATTERN, description="Lot the sample was taken from.")
    entered_by: str = Field(min_length=1, max_length=200, description="User who attached it.")
    entered_at: IsoDatetime = Field(description="When it was attached (UTC).")


def sum_bounds(results: dict[str, LabResult], groups: tuple[str, ...]) -> tuple[float, float, list[str]]:
    """(lower, upper) bound of the sum over ``groups`` and which groups are missing."""
    lo = hi = 0.0
    missing = []
    for g in groups:
        r = results.get(g)
        if r is None:
            missing.append(g)
        elif r.below_lod:
            hi += r.lod_mg_kg or 0.0
        else:
            lo += r.value_mg_kg or 0.0
            hi += r.value_mg_kg or 0.0
    return lo, hi, missing


def _judge(name: Reason, analyte: str, limit: float, source: str, bounds: tuple[float, float, list[str]],
           required: bool, method: str) -> Check | None:
    lo, hi, missing = bounds
    if missing and not required:
        return None

    def check(result: Result, why: Reason, value: float | None = None, statistic: str | None = None) -> Check:
        return Check(check=text(name), check_code=name, analyte=analyte, limit_ppm=limit, source=source,
                     value_ppm=value, statistic=statistic, method=method, result=result, reason=text(why),
                     reason_code=why)

    figures = {"analyte": analyte, "limit": limit}
    if missing:
        return check("insufficient_data", reason("lab.not_reported", analyte=analyte, missing=missing))
    if lo > limit:
        return check("non_conformant", reason("lab.exceeded", lo=lo, **figures), round(lo, 3), "lab sum (measured)")
    return check("insufficient_data" if hi > limit else "conformant",
                 reason("lab.open" if hi > limit else "lab.ok", hi=hi, **figures), round(hi, 3),
                 "lab sum (LOD counted)")


def group_sum_bounds(results: dict[str, LabResult], total: str, groups: tuple[str, ...]
                   ) -> tuple[float, float, list[str]]:
    """A reported group sum (PBDE, PBB: all congeners, as RoHS counts them) when given, else the sum of the ten
    congener groups, every one of them required (octaBDE missing from a POPs-only report could hold the
    RoHS exceedance)."""
    if total in results:
        return sum_bounds(results, (total,))
    return sum_bounds(results, groups)


def pops_pbde_bounds(results: dict[str, LabResult]) -> tuple[float, float, list[str]]:
    """The POPs PBDE sum from the five Annex I groups; when they are not all reported, a reported PBDE total
    (all congeners) still bounds it from above (lower bound 0: the total may be other congeners)."""
    lo, hi, missing = sum_bounds(results, POPS_PBDE)
    if missing and "PBDE" in results:
        _, hi, missing = sum_bounds(results, ("PBDE",))
        lo = 0.0
    return lo, hi, missing


def lab_checks(conf: LabConfirmationIn, as_of: date, *, hbcdd_required: bool = False) -> list[Check]:
    """Pure: one check per regulated group: POPs PBDE sum (the five Annex I groups, all required), RoHS PBDE
    (all congeners) and PBB sums (required), HBCDD (required when declared in the sources, else if reported)."""
    results = {r.analyte: r for r in conf.results}
    limits = {lim.analyte: lim for lim in regulatory_limits(as_of)}
    pops, rohs = limits["PBDE"], limits["PBB"]
    out = [
        _judge(reason("check.lab_pops_pbde", limit=pops.max_ppm), "PBDE",
               pops.max_ppm, pops.source, pops_pbde_bounds(results), True, conf.method),
        _judge(reason("check.lab_rohs", analyte="PBDE", limit=rohs.max_ppm), "PBDE", rohs.max_ppm, rohs.source,
               group_sum_bounds(results, "PBDE", PBDE_GROUPS), True, conf.method),
        _judge(reason("check.lab_rohs", analyte="PBB", limit=rohs.max_ppm), "PBB", rohs.max_ppm, rohs.source,
               group_sum_bounds(results, "PBB", PBB_GROUPS), True, conf.method),
    ]
    if as_of >= date(2024, 10, 17):
        hbcdd_limit = 75.0
        hbcdd_source = HBCDD_SOURCE
    else:
        hbcdd_limit, hbcdd_source = 100.0, "EU POPs Reg. 2019/1021 Annex I (before 2024-10-17)"
    out.append(_judge(reason("check.lab_hbcdd", limit=hbcdd_limit), "HBCDD", hbcdd_limit, hbcdd_source,
                      sum_bounds(results, ("HBCDD",)), hbcdd_required, conf.method))
    return [c for c in out if c is not None]


def lab_verdict(conf: LabConfirmation, as_of: date, *, hbcdd_required: bool = False) -> LabVerdict:
    """Pure: pass when every check is conformant, fail when any is above its limit, else insufficient."""
    checks = lab_checks(conf, as_of, hbcdd_required=hbcdd_required)
    results = {c.result for c in checks}
    result: Literal["pass", "fail", "insufficient"] = (
        "fail" if "non_conformant" in results else "insufficient" if "insufficient_data" in results else "pass")
    codes = [c.reason_code for c in checks if c.result != "conformant" and c.reason_code is not None] or [
        reason("lab.pass", lab=conf.lab, method=conf.method, date=conf.analysed_on.isoformat())]
    return LabVerdict(confirmation_id=conf.confirmation_id, lab=conf.lab, method=conf.method,
                      analysed_on=conf.analysed_on.isoformat(), report_sha256=conf.report_sha256, result=result,
                      reasons=[text(c) for c in codes], checks=checks, reason_codes=codes)


def latest(confirmations: list[LabConfirmation]) -> LabConfirmation | None:
    """The confirmation that counts: the latest analysis (then the latest entry)."""
    return max(confirmations, key=lambda c: (c.analysed_on, c.entered_at), default=None)
