"""Normalised composition records: product -> parts -> homogeneous materials -> substances.

Every mass is in milligrams so records from different formats compare; ``fraction`` is the substance's
mass share of its homogeneous material (0..1). Pure data and pure helpers only; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.composition.rows import ReadSummary

MASS_TO_MG = {"mg": 1.0, "g": 1e3, "kg": 1e6, "t": 1e9}
FRACTION_UNITS = {"ppm": 1e-6, "%": 1e-2, "masspercent": 1e-2, "mass%": 1e-2, "percent": 1e-2, "wt%": 1e-2}

# Substances whose presence in a source product's plastic can carry over into recycled material.
# CAS -> (name, group). Not a full DSL: it is the subset the evidence reports on by name.
CARRY_OVER = {
    "1163-19-5": ("Decabromodiphenyl ether (decaBDE)", "PBDE"),
    "32534-81-9": ("Pentabromodiphenyl ether (commercial)", "PBDE"),
    "32536-52-0": ("Octabromodiphenyl ether (commercial)", "PBDE"),
    "40088-47-9": ("Tetrabromodiphenyl ether", "PBDE"),
    "59536-65-1": ("Polybrominated biphenyls (PBB)", "PBB"),
    "25637-99-4": ("Hexabromocyclododecane (HBCDD)", "HBCDD"),
    "3194-55-6": ("1,2,5,6,9,10-Hexabromocyclododecane", "HBCDD"),
    "79-94-7": ("Tetrabromobisphenol A (TBBPA)", "BFR"),
    "84852-53-9": ("Decabromodiphenyl ethane (DBDPE)", "BFR"),
    "1309-64-4": ("Antimony trioxide", "Sb"),
    "7439-92-1": ("Lead", "Pb"),
    "7440-43-9": ("Cadmium", "Cd"),
    "7439-97-6": ("Mercury", "Hg"),
    "18540-29-9": ("Chromium(VI)", "Cr(VI)"),
    "117-81-7": ("Bis(2-ethylhexyl) phthalate (DEHP)", "phthalate"),
    "85-68-7": ("Benzyl butyl phthalate (BBP)", "phthalate"),
    "84-74-2": ("Dibutyl phthalate (DBP)", "phthalate"),
    "84-69-5": ("Diisobutyl phthalate (DIBP)", "phthalate"),
    "7726-95-6": ("Bromine", "Br"),
}

_CAS = re.compile(r"^(\d{2,7})-(\d{2})-(\d)$")


def cas_problem(cas: str) -> str | None:
    """Why a CAS registry number is not well formed (format or check digit), or None if it is."""
    match = _CAS.match(cas.strip())
    if not match:
        return f"CAS number {cas!r} is not of the form NNNNNNN-NN-N"
    digits = (match.group(1) + match.group(2))[::-1]
    check = sum((i + 1) * int(d) for i, d in enumerate(digits)) % 10
    if check != int(match.group(3)):
        return f"CAS number {cas!r} fails its check digit (expected {check})"
    return None


def mass_mg(value: float | str | None, unit: str | None) -> float:
    """Convert a mass to mg; raises ValueError with a readable reason for missing values or units."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("mass missing")
    if not unit or not unit.strip():
        raise ValueError(f"mass {value} has no unit")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"mass {value!r} is not a number") from None
    factor = MASS_TO_MG.get(unit.strip().lower())
    if factor is None:
        raise ValueError(f"unit {unit!r} is not a mass unit (mg, g, kg, t)")
    if number < 0 or number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"mass {value} must be a finite non-negative number")
    return number * factor


def fraction_of(value: float | str | None, unit: str | None) -> float:
    """Convert a concentration (ppm, %, massPercent) to a 0..1 fraction; ValueError if not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("concentration missing")
    factor = FRACTION_UNITS.get((unit or "").strip().lower())
    if factor is None:
        raise ValueError(f"unit {unit!r} is not a concentration unit (ppm, %, massPercent)")
    number = float(value) * factor
    if not 0 <= number <= 1:
        raise ValueError(f"concentration {value} {unit} is outside 0..100 %")
    return number


@dataclass
class Substance:
    """``declared`` states presence without an amount (IPC Class C threshold, IEC 62474 DsDsg, declared in
    sources); ``below_lod`` is a measured non-detect (``lod_fraction`` its LOD, ``fraction`` then None);
    ``flags`` say what is doubtful about the record (e.g. a CAS failing its check digit), never dropped."""

    name: str
    cas: str | None = None
    mass_mg: float | None = None
    fraction: float | None = None
    dsl_ref: str | None = None
    exemption: str | None = None
    declared: str | None = None  # above_threshold | present | declared_in_sources
    basis: str | None = None  # measured | declared (recycled-lot declarations)
    below_lod: bool = False
    lod_fraction: float | None = None
    ci95_fraction: list[float] | None = None
    source_share: float | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class Material:
    name: str
    material_class: str | None = None
    mass_mg: float | None = None
    substances: list[Substance] = field(default_factory=list)
    share: float | None = None  # mass share of the product (recycled-lot declarations state it with its CI)
    share_ci95: list[float] | None = None


@dataclass
class Part:
    name: str
    mass_mg: float | None = None
    materials: list[Material] = field(default_factory=list)


@dataclass
class Product:
    product_id: str
    model: str
    manufacturer: str | None = None
    category: str | None = None
    mass_mg: float | None = None
    gtin: str | None = None
    declaration_class: str | None = None
    parts: list[Part] = field(default_factory=list)
    evidence_id: str | None = None  # a recycled-lot declaration: the evidence it was made from


@dataclass
class Skip:
    """One thing an import left out, and why (shown to the operator; nothing is dropped silently)."""

    record: str
    reason: str


@dataclass
class ParseResult:
    products: list[Product] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[Skip] = field(default_factory=list)
    unread: dict[str, int] = field(default_factory=dict)  # element name -> count the parser did not read


def read_summary(product: Product) -> ReadSummary:
    """What was read of one product, for the per-file import report."""
    materials = [m for part in product.parts for m in part.materials]
    subs = [s for m in materials for s in m.substances]
    return {"product_id": product.product_id, "model": product.model, "mass_mg": product.mass_mg,
            "declaration_class": product.declaration_class, "parts": len(product.parts),
            "materials": len(materials), "substances": len(subs),
            "substances_flagged": sum(1 for s in subs if s.flags),
            "substances_presence_only": sum(1 for s in subs if s.declared and s.mass_mg is None
                                            and s.fraction is None),
            "substances_below_lod": sum(1 for s in subs if s.below_lod)}


def complete_fractions(product: Product) -> None:
    """Fill substance mass from fraction (or fraction from mass) where the material mass is known."""
    for part in product.parts:
        for material in part.materials:
            for sub in material.substances:
                if material.mass_mg:
                    if sub.mass_mg is None and sub.fraction is not None:
                        sub.mass_mg = sub.fraction * material.mass_mg
                    elif sub.fraction is None and sub.mass_mg is not None:
                        sub.fraction = sub.mass_mg / material.mass_mg


def check_substance(sub: Substance, where: str, result: ParseResult) -> bool:
    """Validate a substance's CAS: an invalid one is kept with a flag and a warning (a Pb entry with a typo in
    its CAS is still lead), an unknown one kept with a warning."""
    if sub.cas:
        problem = cas_problem(sub.cas)
        if problem:
            sub.flags.append(f"cas_invalid: {problem}")
            result.warnings.append(Skip(where, f"{problem}: substance kept, flagged cas_invalid"))
            return True
        if sub.cas not in CARRY_OVER:
            result.warnings.append(Skip(where, f"CAS {sub.cas} is not in junkan's substance reference list"))
    return True
