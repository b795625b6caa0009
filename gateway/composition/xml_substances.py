"""Substances of a material or product in IPC-1752A / IEC 62474 / chemSHERPA files, every way they are written:

- ``Substance`` directly, or grouped in ``SubstanceCategoryList/SubstanceCategory`` (IPC) or ``DsDsg``
  (IEC 62474 declarable substance / group, as chemSHERPA writes them);
- presence without substances: an IPC Class C ``SubstanceCategory`` whose ``Threshold@overThreshold`` is
  true, or a ``DsDsg`` marked reportable/contained, becomes a presence-only substance named after the
  group (CAS from the group name where it names one element, flagged ``cas_from_group_name``);
- junkan recycled-lot declarations add ``Measured`` (basis, below LOD with the LOD, CI) and
  ``DeclaredInSources`` children (gateway/evidence/declaration.py writes them).

Element names follow shared/reference/standards.md §3; UNVERIFIED against the official XSDs.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from gateway.composition.model import ParseResult, Skip, Substance, check_substance, fraction_of, mass_mg
from gateway.composition.xml_base import first, kid, kids, number, truthy

# Group names that name one element: its CAS, so a presence-only group still meets the carry-over list.
GROUP_CAS = {"lead": "7439-92-1", "cadmium": "7440-43-9", "mercury": "7439-97-6",
             "hexavalent chromium": "18540-29-9", "chromium vi": "18540-29-9", "chromium(vi)": "18540-29-9",
             "polybrominated biphenyl": "59536-65-1", "pbb": "59536-65-1", "hbcdd": "25637-99-4",
             "hexabromocyclododecane": "25637-99-4", "decabromodiphenyl ether": "1163-19-5"}
PRESENCE_ATTRS = ("overThreshold", "aboveThreshold", "reportable", "contained", "present", "containing")


def group_cas(name: str) -> str | None:
    text = name.lower().replace("/", " ").replace(",", " ")
    for key, cas in GROUP_CAS.items():
        if text.startswith(key):
            return cas
    return None


def _identity(el: Element) -> str | None:
    for idname in ("UniqueID", "SubstanceID"):
        for node in kids(el, idname):
            if (node.get("authority") or "").upper() == "CAS" and node.get("identity"):
                return node.get("identity", "").strip()
    return el.get("casNumber") or el.get("CAS") or el.get("cas")


def _amount_into(sub: Substance, el: Element, where: str, result: ParseResult) -> None:
    amount = first(el, "Amount", "Mass")
    conc = first(el, "Concentration", "MassPercent")
    try:
        if amount is not None:
            unit = amount.get("UOM", amount.get("unitOfMeasure"))
            value = amount.get("value", amount.get("mass"))
            if (unit or "").lower() in ("ppm", "masspercent", "%"):
                sub.fraction = fraction_of(value, unit)
            else:
                sub.mass_mg = mass_mg(value, unit)
        elif conc is not None:
            default_unit = "massPercent" if conc.tag.endswith("MassPercent") else None
            unit = conc.get("UOM", conc.get("unitOfMeasure", default_unit))
            sub.fraction = fraction_of(conc.get("value", conc.get("massPercent")), unit)
    except ValueError as exc:
        result.skipped.append(Skip(where, f"substance amount ignored (presence kept): {exc}"))


def _measured(sub: Substance, el: Element, where: str, result: ParseResult) -> None:
    """junkan recycled-lot extensions: a measured value (or non-detect with its LOD), or presence in sources."""
    meas = kid(el, "Measured")
    if meas is not None:
        sub.basis = "measured"
        unit = meas.get("UOM", "ppm")
        low, high = number(meas, "ci95Low"), number(meas, "ci95High")
        try:
            if low is not None and high is not None:
                sub.ci95_fraction = [fraction_of(low, unit), fraction_of(high, unit)]
            if truthy(meas, "belowLOD"):
                sub.below_lod, sub.fraction, sub.mass_mg = True, None, None
                lod = number(meas, "lod")
                sub.lod_fraction = fraction_of(lod, unit) if lod is not None else None
        except ValueError as exc:
            result.skipped.append(Skip(where, f"measurement detail ignored: {exc}"))
    declared = kid(el, "DeclaredInSources")
    if declared is not None:
        sub.basis, sub.declared = "declared", "declared_in_sources"
        sub.source_share = number(declared, "sourceShare")


def substance(el: Element, where: str, result: ParseResult, dsl: str | None,
              presence: str | None = None) -> Substance | None:
    name = el.get("name") or "(unnamed)"
    where = f"{where} / substance {name}"
    sub = Substance(name=name, cas=_identity(el), dsl_ref=dsl, exemption=el.get("exemption"), declared=presence)
    _amount_into(sub, el, where, result)
    _measured(sub, el, where, result)
    return sub if check_substance(sub, where, result) else None


def _group(el: Element, where: str, result: ParseResult, dsl: str | None, found: list[Substance]) -> None:
    """An IPC SubstanceCategory or an IEC 62474 DsDsg: its substances, else its presence as one entry."""
    name = el.get("name") or el.get("identity") or "(unnamed group)"
    threshold = kid(el, "Threshold")
    over = truthy(threshold, *PRESENCE_ATTRS) if threshold is not None else truthy(el, *PRESENCE_ATTRS)
    exemption = next((x.get("identity") or x.get("name") for x in kids(threshold, "Exemption")), None) \
        if threshold is not None else None
    group_dsl = dsl
    if el.tag.endswith("DsDsg") and el.get("identity"):
        group_dsl = ":".join(x for x in (el.get("authority") or "IEC62474", el.get("identity"), el.get("version"))
                             if x)
    members = [*kids(el, "Substance"), *(kids(threshold, "Substance") if threshold is not None else ())]
    for sub_el in members:
        if (s := substance(sub_el, where, result, group_dsl, "above_threshold" if over else None)) is not None:
            s.exemption = s.exemption or exemption
            found.append(s)
    if members:
        return
    gwhere = f"{where} / group {name}"
    if over is False:
        result.warnings.append(Skip(gwhere, "declared below threshold / not contained: read, nothing to store"))
        return
    sub = Substance(name=name, cas=el.get("casNumber") or group_cas(name), dsl_ref=group_dsl, exemption=exemption,
                    declared="above_threshold" if over else "present")
    if sub.cas and not el.get("casNumber"):
        sub.flags.append("cas_from_group_name")
    _amount_into(sub, el, gwhere, result)
    if over is None and sub.mass_mg is None and sub.fraction is None:
        result.warnings.append(Skip(gwhere, "group listed with neither substances, amount nor a threshold "
                                            "statement: kept as present"))
    if check_substance(sub, gwhere, result):
        found.append(sub)


def substances(el: Element, where: str, result: ParseResult) -> list[Substance]:
    """Substances of a material (or product): directly below it, in IPC SubstanceCategoryList(s) or DsDsg."""
    found: list[Substance] = []
    for sub_el in kids(el, "Substance"):
        if (s := substance(sub_el, where, result, None)) is not None:
            found.append(s)
    for scl in kids(el, "SubstanceCategoryList"):
        list_id = kid(scl, "SubstanceCategoryListID")
        dsl = None
        if list_id is not None:
            dsl = ":".join(x for x in (list_id.get("authority"), list_id.get("identity"), list_id.get("version")) if x)
        for cat in kids(scl, "SubstanceCategory"):
            _group(cat, where, result, dsl, found)
    for cat in kids(el, "SubstanceCategory"):  # a category without its list element
        _group(cat, where, result, None, found)
    for dsg in kids(el, "DsDsg"):
        _group(dsg, where, result, None, found)
    return found
