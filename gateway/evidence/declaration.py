"""The recycled lot as an IPC-1752A-style material declaration (issue 17 item 8, M32: material information
passed on so the next maker can use the recyclate), read back by ``junkan gateway import-composition``.

Layout (IPC-1752A Class D, namespace http://webstds.ipc.org/175x/2.0; element names UNVERIFIED against the
official XSD, see shared/standards/ipc1752a/SOURCES.md), with junkan's own children in ``urn:junkan:declaration:1``
where IPC-1752A has no field:

- ``Product/ProductID@itemNumber`` = lot id, ``Amount`` inside it = the lot's mass (kg);
  ``Product/jk:Evidence@id`` = the evidence id the declaration was made from;
- one ``HomogeneousMaterial`` per polymer (``@name`` as measured, ``@materialGroupName`` its ISO 1043-1 symbol,
  e.g. HIPS -> PS-HI): ``Amount`` = share x lot mass, ``jk:Share@value @ci95Low
  @ci95High`` the measured mass share with its 95 % interval (NIR-identified pieces);
- lot-level substances in ``SubstanceCategoryList`` ``junkan:measured`` (CAS of the element for a screened
  element, e.g. total Cr 7440-47-3): a detected analyte has ``Amount``
  in ppm (the censoring-aware mean) and ``jk:Measured belowLOD="false"``; an analyte below LOD in every
  reading has **no** Amount, only ``jk:Measured belowLOD="true" lod=…`` (never a declared value);
- substances declared in the source products' records (``junkan:declared-in-sources``): presence only,
  ``jk:DeclaredInSources@sourceShare`` (mass share of sources declaring it), no amount.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from gateway.evidence.iso1043 import standard_name
from junkan.core.evidence import ContaminantRow, Evidence, InsufficientData

IPC_NS = "http://webstds.ipc.org/175x/2.0"
JK_NS = "urn:junkan:declaration:1"
register_namespace("", IPC_NS)
register_namespace("jk", JK_NS)


def _ipc(parent: Element | None, element: str, /, **attrs: str) -> Element:
    tag = f"{{{IPC_NS}}}{element}"
    return Element(tag, attrs) if parent is None else SubElement(parent, tag, attrs)


def _jk(parent: Element, element: str, /, **attrs: str) -> Element:
    return SubElement(parent, f"{{{JK_NS}}}{element}", attrs)


# Elements the specs' CAS table does not carry: total Cr is 7440-47-3 (Cr(VI), 18540-29-9, is another substance).
ELEMENT_CAS = {"Cr": "7440-47-3", "Br": "7726-95-6", "Cd": "7440-43-9", "Pb": "7439-92-1", "Hg": "7439-97-6",
               "Cl": "7782-50-5", "Sb": "7440-36-0"}


def analyte_cas(row: ContaminantRow) -> str | None:
    """The CAS number of a screened analyte (an element, or the substance a spec names)."""
    return row.cas or ELEMENT_CAS.get(row.analyte)


def _g(value: float) -> str:
    return repr(float(value))  # shortest text that reads back as the same float


def censored(row: ContaminantRow) -> bool:
    """Every reading below LOD (or no estimate because of it): the value is unknown below the LOD."""
    below = row.n_below_lod or 0
    return below >= row.n or (row.mean_ppm is None and below > 0)


def _measured(cat: Element, row: ContaminantRow) -> None:
    sub = _ipc(cat, "Substance", name=row.analyte)
    if (cas := analyte_cas(row)) is not None:
        _ipc(sub, "UniqueID", identity=cas, authority="CAS")
    attrs = {"n": str(row.n), "nBelowLOD": str(row.n_below_lod), "method": row.method, "UOM": "ppm"}
    if row.lod_ppm is not None:
        attrs["lod"] = _g(row.lod_ppm)
    if censored(row):
        _jk(sub, "Measured", belowLOD="true", **attrs)
        return
    assert row.mean_ppm is not None
    _ipc(sub, "Amount", value=_g(row.mean_ppm), UOM="ppm")
    _jk(sub, "Measured", belowLOD="false", **attrs)


def declaration(ev: Evidence) -> Element:
    """The declaration tree of one lot's evidence."""
    root = _ipc(None, "MainDeclaration", version="2.0")
    response = _ipc(_ipc(root, "BusinessInfo"), "Response")
    _ipc(response, "SupplyCompany", name=ev.issuer.name, companyUniqueID=ev.issuer.id, uniqueIDAuthority="DID")
    product = _ipc(root, "Product", unitType="Each")
    pid = _ipc(product, "ProductID", itemNumber=ev.lot.lot_id, itemName=f"Recycled plastic lot {ev.lot.lot_id}",
               category="recycled_plastic")
    _ipc(pid, "Amount", value=_g(ev.lot.net_mass_kg), UOM="kg")
    _jk(product, "Evidence", id=ev.evidence_id, lotId=ev.lot.lot_id, issuedAt=ev.issued_at)
    if not isinstance(ev.composition, InsufficientData):
        hml = _ipc(_ipc(product, "MaterialInfo"), "HomogeneousMaterialList")
        for polymer, share in sorted(ev.composition.by_mass.items(), key=lambda kv: -kv[1].share):
            hm = _ipc(hml, "HomogeneousMaterial", name=polymer, materialGroupName=standard_name(polymer).symbol)
            _ipc(hm, "Amount", value=_g(share.share * ev.lot.net_mass_kg), UOM="kg")
            _jk(hm, "Share", value=_g(share.share), ci95Low=_g(share.ci95[0]), ci95High=_g(share.ci95[1]),
                basis=ev.composition.scope, method=ev.composition.mass_method)
    rows = [c for c in ev.contaminants if c.n > 0]
    if rows:
        scl = _ipc(product, "SubstanceCategoryList")
        _ipc(scl, "SubstanceCategoryListID", identity="measured", authority="junkan")
        cat = _ipc(scl, "SubstanceCategory", name="Measured on the lot (XRF screening)")
        for row in rows:
            _measured(cat, row)
    declared = list(ev.declared_substances.substances)
    if declared:
        scl = _ipc(product, "SubstanceCategoryList")
        _ipc(scl, "SubstanceCategoryListID", identity="declared-in-sources", authority="junkan")
        cat = _ipc(scl, "SubstanceCategory", name="Declared in the source products' records")
        for d in declared:
            sub = _ipc(cat, "Substance", name=d.name)
            if d.cas:
                _ipc(sub, "UniqueID", identity=d.cas, authority="CAS")
            attrs = {"sourceMassKg": _g(d.source_mass_kg), "canCarryOver": str(d.can_carry_over).lower()}
            if d.source_share is not None:
                attrs["sourceShare"] = _g(d.source_share)
            _jk(sub, "DeclaredInSources", **attrs)
    return root


def declaration_xml(ev: Evidence) -> bytes:
    return tostring(declaration(ev), encoding="utf-8", xml_declaration=True)
