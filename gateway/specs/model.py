"""A buyer's requirement spec and the regulatory default limits (shared/reference/standards.md §6)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from junkan.core.names import ID_PATTERN
from junkan.core.strict import STRICT, IsoDate

_ID = ID_PATTERN

# Analyte -> CAS (for EPCIS chemicalSubstance and UNTP); PBDE is a group, no single CAS.
ANALYTE_CAS = {"Br": "7726-95-6", "Cd": "7440-43-9", "Pb": "7439-92-1", "Hg": "7439-97-6", "CrVI": "18540-29-9",
               "Cl": "7782-50-5", "Sb": "7440-36-0"}


class Limit(BaseModel):
    model_config = STRICT

    analyte: str = Field(min_length=1, max_length=32, description="Br, Cd, Pb, Hg, CrVI, PBDE, moisture, ...")
    max_ppm: float = Field(gt=0, le=1e6, allow_inf_nan=False, description="Upper limit in mg/kg (ppm); % x 10000.")
    basis: Literal["max", "p95", "mean"] = Field(default="p95", description="Lot statistic compared with the "
                                                 "limit (p95 of objects by default).")
    source: str = Field(default="buyer", max_length=200, description="Where the limit comes from.")


class RequirementSpec(BaseModel):
    model_config = STRICT

    spec_id: str = Field(pattern=_ID, description="Unique id of the spec.")
    buyer: str = Field(min_length=1, max_length=200, description="Buyer (party) the spec belongs to.")
    material: str = Field(min_length=1, max_length=32, description="Target polymer (PP, ABS, HIPS, PC/ABS, ...).")
    min_purity: float | None = Field(default=None, ge=0, le=1, description="Minimum mass share of the target "
                                     "polymer (lower 95 % bound must reach it).")
    limits: list[Limit] = Field(default_factory=list, description="Buyer limits; stricter than the defaults.")
    regulatory_defaults: bool = Field(default=True, description="Add RoHS and EU POPs limits not given.")
    as_of: IsoDate | None = Field(default=None, description="Date the POPs limit is taken for (default: today).")
    description: str | None = Field(default=None, max_length=2000, description="Free text.")


def regulatory_limits(as_of: date) -> list[Limit]:
    """RoHS Annex II per homogeneous material; EU POPs PBDE limit for articles from recovered material."""
    rohs = "RoHS 2011/65/EU Annex II as amended by (EU) 2015/863"
    if as_of >= date(2027, 12, 30):
        pbde, pops = 200.0, "EU POPs Reg. 2019/1021 Annex I as amended by (EU) 2025/1482 (from 2027-12-30)"
    elif as_of >= date(2025, 12, 30):
        pbde, pops = 350.0, "EU POPs Reg. 2019/1021 Annex I as amended by (EU) 2025/1482 (from 2025-12-30)"
    else:
        pbde, pops = 500.0, "EU POPs Reg. 2019/1021 Annex I (articles, before 2025-12-30)"
    return [Limit(analyte=a, max_ppm=1000.0, basis="max", source=rohs) for a in ("Pb", "Hg", "CrVI", "PBB")] + [
        Limit(analyte="Cd", max_ppm=100.0, basis="max", source=rohs),
        Limit(analyte="PBDE", max_ppm=min(pbde, 1000.0), basis="max", source=pops),
    ]


def effective_limits(spec: RequirementSpec, today: date) -> list[Limit]:
    """Buyer limits plus defaults; where both exist the stricter one applies."""
    merged: dict[str, Limit] = {}
    candidates = list(spec.limits) + (regulatory_limits(spec.as_of or today) if spec.regulatory_defaults else [])
    for limit in candidates:
        prior = merged.get(limit.analyte)
        if prior is None or limit.max_ppm < prior.max_ppm:
            merged[limit.analyte] = limit
    return list(merged.values())
