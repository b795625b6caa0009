"""IPC-1752A (Class C/D), IEC 62474 and chemSHERPA-AI (.shai) declarations -> normalised products.

Parsing goes through defusedxml with DTDs forbidden, so XXE and entity-expansion ("billion laughs")
files are rejected as a whole. Elements are matched by local name: the official XSDs are not bundled
(shared/standards/ipc1752a/SOURCES.md), so names follow shared/reference/standards.md §3 and are
UNVERIFIED against the schemas; namespaces are checked only to tell the formats apart.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from gateway.composition.model import (
    Material,
    ParseResult,
    Part,
    Product,
    Skip,
    Substance,
    check_substance,
    complete_fractions,
    fraction_of,
    mass_mg,
)

IPC_NS = "http://webstds.ipc.org/175x/2.0"
IEC_NS = "http://std.iec.ch/iec62474"
MAX_SHAI_MEMBERS = 500
MAX_XML_BYTES = 20_000_000


class FormatError(Exception):
    """The whole file is unusable (malformed, hostile, unknown format); nothing from it is imported."""


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def kids(el: Element, name: str) -> Iterator[Element]:
    return (c for c in el if local(c.tag) == name)


def kid(el: Element, name: str) -> Element | None:
    return next(kids(el, name), None)


def _first(el: Element, *names: str) -> Element | None:
    """First child with one of ``names`` (Element truthiness is about children, so never use ``or``)."""
    for name in names:
        found = kid(el, name)
        if found is not None:
            return found
    return None


def descend(el: Element, *path: str) -> Iterator[Element]:
    """All elements under ``el`` following the local-name path (each step any number of matches)."""
    level = [el]
    for name in path:
        level = [c for parent in level for c in kids(parent, name)]
    return iter(level)


def parse_xml(data: bytes, source: str) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise FormatError(f"{source}: {len(data)} bytes is larger than the {MAX_XML_BYTES} byte limit")
    try:
        root: Element = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FormatError(f"{source}: rejected hostile XML ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # ParseError and friends: malformed XML
        raise FormatError(f"{source}: malformed XML: {exc}") from None
    return root


def detect(root: Element) -> str:
    name, ns = local(root.tag), namespace(root.tag)
    if name == "MainDeclaration" or ns == IPC_NS:
        return "ipc1752a"
    if name == "Main" or ns == IEC_NS:
        return "iec62474"
    raise FormatError(f"unknown root element <{name}> in namespace {ns!r}: not IPC-1752A or IEC 62474")


def parse_xml_declaration(data: bytes, source: str) -> tuple[str, ParseResult]:
    root = parse_xml(data, source)
    fmt = detect(root)
    return fmt, (parse_ipc(root, source) if fmt == "ipc1752a" else parse_iec(root, source))


def parse_shai(data: bytes, source: str) -> ParseResult:
    """A chemSHERPA-AI file: a ZIP holding one IEC 62474-style XML per product at its root."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FormatError(f"{source}: not a chemSHERPA .shai ZIP: {exc}") from None
    members = [m for m in archive.infolist() if m.filename.lower().endswith(".xml") and not m.is_dir()]
    if not members:
        raise FormatError(f"{source}: the .shai archive holds no XML file")
    if len(members) > MAX_SHAI_MEMBERS or sum(m.file_size for m in members) > MAX_XML_BYTES:
        raise FormatError(f"{source}: archive too large ({len(members)} XML files)")
    result = ParseResult()
    for member in members:
        where = f"{source}!{member.filename}"
        root = parse_xml(archive.read(member), where)
        part = parse_iec(root, where) if detect(root) == "iec62474" else parse_ipc(root, where)
        result.products += part.products
        result.skipped += part.skipped
        result.warnings += part.warnings
    return result


def _supplier(root: Element) -> str | None:
    for path in (("BusinessInfo", "Response", "SupplyCompany"), ("BusinessInfo", "Request", "SupplyCompany"),
                 ("BusinessInfo", "SupplyCompany")):
        for el in descend(root, *path):
            if el.get("name"):
                return el.get("name")
    return None


def _amount(el: Element, where: str, result: ParseResult, *names: str) -> float | None:
    """Mass in mg from an ``Amount@value/@UOM`` or ``Mass@mass/@unitOfMeasure`` child; skip note if bad."""
    for name in names:
        node = kid(el, name)
        if node is None:
            continue
        value = node.get("value", node.get("mass"))
        unit = node.get("UOM", node.get("unitOfMeasure", node.get("unit")))
        try:
            return mass_mg(value, unit)
        except ValueError as exc:
            result.skipped.append(Skip(where, f"mass ignored: {exc}"))
            return None
    return None


def _substance(el: Element, where: str, result: ParseResult, dsl: str | None) -> Substance | None:
    name = el.get("name") or "(unnamed)"
    where = f"{where} / substance {name}"
    cas = None
    for idname in ("UniqueID", "SubstanceID"):
        for node in kids(el, idname):
            if (node.get("authority") or "").upper() == "CAS" and node.get("identity"):
                cas = node.get("identity", "").strip()
    cas = cas or el.get("casNumber") or el.get("CAS")
    sub = Substance(name=name, cas=cas, dsl_ref=dsl, exemption=el.get("exemption"))
    amount = _first(el, "Amount", "Mass")
    conc = _first(el, "Concentration", "MassPercent")
    try:
        if amount is not None:
            unit = amount.get("UOM", amount.get("unitOfMeasure"))
            value = amount.get("value", amount.get("mass"))
            if (unit or "").lower() in ("ppm", "masspercent", "%"):
                sub.fraction = fraction_of(value, unit)
            else:
                sub.mass_mg = mass_mg(value, unit)
        elif conc is not None:
            default_unit = "massPercent" if local(conc.tag) == "MassPercent" else None
            unit = conc.get("UOM", conc.get("unitOfMeasure", default_unit))
            sub.fraction = fraction_of(conc.get("value", conc.get("massPercent")), unit)
    except ValueError as exc:
        result.skipped.append(Skip(where, f"substance amount ignored (presence kept): {exc}"))
    return sub if check_substance(sub, where, result) else None


def _substances(el: Element, where: str, result: ParseResult) -> list[Substance]:
    """Substances of a material: directly below it or grouped in IPC SubstanceCategoryList(s)."""
    found: list[Substance] = []
    for sub_el in kids(el, "Substance"):
        if (s := _substance(sub_el, where, result, None)) is not None:
            found.append(s)
    for scl in kids(el, "SubstanceCategoryList"):
        list_id = kid(scl, "SubstanceCategoryListID")
        dsl = None
        if list_id is not None:
            dsl = ":".join(x for x in (list_id.get("authority"), list_id.get("identity"), list_id.get("version")) if x)
        for cat in kids(scl, "SubstanceCategory"):
            for sub_el in kids(cat, "Substance"):
                if (s := _substance(sub_el, where, result, dsl)) is not None:
                    found.append(s)
    return found


def parse_ipc(root: Element, source: str) -> ParseResult:
    """IPC-1752A: Class D homogeneous materials become one part each; Class C substances one 'declared' part."""
    result = ParseResult()
    supplier = _supplier(root)
    for i, prod in enumerate(descend(root, "Product")):
        pid = kid(prod, "ProductID")
        model = (pid.get("itemNumber") if pid is not None else None) or ""
        where = f"{source}: product #{i + 1} {model or '(no itemNumber)'}"
        if not model:
            result.skipped.append(Skip(where, "ProductID@itemNumber missing: cannot identify the product"))
            continue
        assert pid is not None
        product = Product(product_id=pid.get("productId") or model, model=model,
                          manufacturer=pid.get("manufacturer") or supplier, category=pid.get("category"),
                          gtin=pid.get("gtin"), mass_mg=_amount(prod, where, result, "Amount"))
        if product.mass_mg is None:
            result.warnings.append(Skip(where, "product mass missing"))
        hms = list(descend(prod, "MaterialInfo", "HomogeneousMaterialList", "HomogeneousMaterial"))
        product.declaration_class = "D" if hms else "C"
        for hm in hms:
            name = hm.get("name") or "(unnamed material)"
            mwhere = f"{where} / material {name}"
            material = Material(name=name, material_class=hm.get("materialGroupName"),
                                mass_mg=_amount(hm, mwhere, result, "Amount"))
            if material.mass_mg is None:
                result.warnings.append(Skip(mwhere, "homogeneous material mass missing: its share is unknown"))
            material.substances = _substances(hm, mwhere, result)
            product.parts.append(Part(name=name, mass_mg=material.mass_mg, materials=[material]))
        declared = _substances(prod, where, result)  # Class C: presence per list, no material
        for comp in kids(prod, "ComplianceDeclaration"):
            declared += _substances(comp, where, result)
        if declared:
            product.parts.append(Part(name="(declared, material not stated)",
                                      materials=[Material(name="(unspecified)", substances=declared)]))
        complete_fractions(product)
        result.products.append(product)
    if not result.products and not result.skipped:
        result.skipped.append(Skip(source, "no Product element found"))
    return result


def parse_iec(root: Element, source: str) -> ParseResult:
    """IEC 62474 (and chemSHERPA-AI articles): Composition/ProductPart/Material/Substance."""
    result = ParseResult()
    supplier = _supplier(root)
    for i, prod in enumerate(descend(root, "Product")):
        pid = kid(prod, "ProductID")
        model = (pid.get("identifier") or pid.get("name") or "") if pid is not None else ""
        where = f"{source}: product #{i + 1} {model or '(no identifier)'}"
        if not model or pid is None:
            result.skipped.append(Skip(where, "ProductID@identifier missing: cannot identify the product"))
            continue
        product = Product(product_id=pid.get("productId") or model, model=model,
                          manufacturer=pid.get("manufacturer") or supplier, category=pid.get("category"),
                          gtin=pid.get("gtin"), mass_mg=_amount(pid, where, result, "Mass")
                          or _amount(prod, where, result, "Mass"))
        if product.mass_mg is None:
            result.warnings.append(Skip(where, "product mass missing"))
        product.declaration_class = "composition"
        for part_el in descend(prod, "Composition", "ProductPart"):
            pname = part_el.get("name") or "(unnamed part)"
            pwhere = f"{where} / part {pname}"
            part = Part(name=pname, mass_mg=_amount(part_el, pwhere, result, "Mass"))
            for mat_el in kids(part_el, "Material"):
                mname = mat_el.get("name") or "(unnamed material)"
                mwhere = f"{pwhere} / material {mname}"
                material = Material(name=mname, material_class=mat_el.get("materialClass") or mat_el.get("class"),
                                    mass_mg=_amount(mat_el, mwhere, result, "Mass"))
                if material.mass_mg is None:
                    result.warnings.append(Skip(mwhere, "material mass missing: its share is unknown"))
                material.substances = _substances(mat_el, mwhere, result)
                part.materials.append(material)
            product.parts.append(part)
        compliance = [s for c in kids(prod, "Compliance") for s in _substances(c, where, result)]
        if compliance:
            product.parts.append(Part(name="(declared, material not stated)",
                                      materials=[Material(name="(unspecified)", substances=compliance)]))
        complete_fractions(product)
        result.products.append(product)
    if not result.products and not result.skipped:
        result.skipped.append(Skip(source, "no Product element found"))
    return result
