"""IPC-1752A (Class C/D), IEC 62474 and chemSHERPA-AI (.shai) declarations -> normalised products.

Parsing goes through defusedxml with DTDs forbidden, so XXE and entity-expansion ("billion laughs")
files are rejected as a whole. Elements are matched by local name: the official XSDs are not bundled
(shared/standards/ipc1752a/SOURCES.md), so names follow shared/reference/standards.md §3 and are
UNVERIFIED against the schemas; namespaces are checked only to tell the formats apart.
"""

from __future__ import annotations

import io
import zipfile
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from gateway.composition.model import Material, ParseResult, Part, Product, Skip, complete_fractions
from gateway.composition.xml_base import SEEN, amount, descend, kid, kids, local, namespace, number
from gateway.composition.xml_substances import substances

IPC_NS = "http://webstds.ipc.org/175x/2.0"
IEC_NS = "http://std.iec.ch/iec62474"
MAX_SHAI_MEMBERS = 500
MAX_XML_BYTES = 20_000_000


class FormatError(Exception):
    """The whole file is unusable (malformed, hostile, unknown format); nothing from it is imported."""


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
    return fmt, parse_root(root, source, fmt)


# Outside a Product these carry no composition: not read is expected and only counted.
_CONTEXT_ONLY = {"BusinessInfo", "Request", "Response", "Contact", "Authorizer", "RequestCompany", "SupplyCompany",
                 "Attachment", "Signature", "Comments", "ReportingPeriod"}


def parse_root(root: Element, source: str, fmt: str) -> ParseResult:
    """Parse one declaration and report every element under a Product that was not read (nothing silently)."""
    seen: set[int] = {id(root)}
    token = SEEN.set(seen)
    try:
        result = parse_ipc(root, source) if fmt == "ipc1752a" else parse_iec(root, source)
    finally:
        SEEN.reset(token)
    _unread(root, seen, result, source, inside_product=False)
    return result


def _unread(el: Element, seen: set[int], result: ParseResult, source: str, inside_product: bool) -> None:
    for child in el:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        name = local(child.tag)
        if id(child) not in seen:
            result.unread[name] = result.unread.get(name, 0) + 1
            if inside_product or name not in _CONTEXT_ONLY:
                result.warnings.append(Skip(f"{source}: <{local(el.tag)}>/<{name}>",
                                            "element not read by junkan: its content is not imported"))
            continue
        _unread(child, seen, result, source, inside_product or name == "Product")


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
        part = parse_root(root, where, detect(root))
        result.products += part.products
        result.skipped += part.skipped
        result.warnings += part.warnings
        for name, n in part.unread.items():
            result.unread[name] = result.unread.get(name, 0) + n
    return result


def _supplier(root: Element) -> str | None:
    for path in (("BusinessInfo", "Response", "SupplyCompany"), ("BusinessInfo", "Request", "SupplyCompany"),
                 ("BusinessInfo", "SupplyCompany")):
        for el in descend(root, *path):
            if el.get("name"):
                return el.get("name")
    return None


def _materials(holder: Element, where: str, result: ParseResult, prefix: str = "") -> list[Part]:
    """IPC Class D homogeneous materials of a product or subproduct: one part each."""
    parts = []
    for hm in descend(holder, "MaterialInfo", "HomogeneousMaterialList", "HomogeneousMaterial"):
        name = hm.get("name") or "(unnamed material)"
        mwhere = f"{where} / material {name}"
        material = Material(name=name, material_class=hm.get("materialGroupName"),
                            mass_mg=amount(hm, mwhere, result, "Amount"))
        share = kid(hm, "Share")  # junkan recycled-lot declarations: the share with its CI
        if share is not None:
            material.share = number(share, "value")
            low, high = number(share, "ci95Low"), number(share, "ci95High")
            material.share_ci95 = [low, high] if low is not None and high is not None else None
        if material.mass_mg is None:
            result.warnings.append(Skip(mwhere, "homogeneous material mass missing: its share is unknown"))
        material.substances = substances(hm, mwhere, result)
        parts.append(Part(name=f"{prefix}{name}", mass_mg=material.mass_mg, materials=[material]))
    return parts


def _declared_part(holder: Element, where: str, result: ParseResult, name: str) -> list[Part]:
    """Substances declared for a whole (sub)product (Class C, compliance), not for a material."""
    declared = substances(holder, where, result)
    for comp in kids(holder, "ComplianceDeclaration"):
        declared += substances(comp, where, result)
    return [Part(name=name, materials=[Material(name="(unspecified)", substances=declared)])] if declared else []


def _subproducts(holder: Element, where: str, result: ParseResult, path: str = "") -> list[Part]:
    """IPC-1752B SubProduct (any depth): its materials as parts named 'subproduct / material'."""
    parts: list[Part] = []
    for i, sub in enumerate(kids(holder, "SubProduct")):
        pid = kid(sub, "ProductID")
        name = (pid.get("itemName") or pid.get("itemNumber") if pid is not None else None) or sub.get("name") \
            or f"subproduct {i + 1}"
        label = f"{path}{name}"
        swhere = f"{where} / subproduct {label}"
        quantity = number(sub, "quantity") or 1.0
        own = _materials(sub, swhere, result, f"{label} / ") + _declared_part(sub, swhere, result,
                                                                            f"{label} (declared, material not stated)")
        if quantity != 1.0:
            result.warnings.append(Skip(swhere, f"quantity {quantity:g}: masses are per subproduct as declared"))
        parts += own + _subproducts(sub, swhere, result, f"{label} / ")
    return parts


def parse_ipc(root: Element, source: str) -> ParseResult:
    """IPC-1752A: Class D homogeneous materials become one part each (subproducts' too); Class C substances
    and presence statements one 'declared' part."""
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
        mass = amount(pid, where, result, "Amount")  # inside ProductID, where third-party tools put it
        if mass is None:
            mass = amount(prod, where, result, "Amount")
        product = Product(product_id=pid.get("productId") or model, model=model,
                          manufacturer=pid.get("manufacturer") or supplier, category=pid.get("category"),
                          gtin=pid.get("gtin"), mass_mg=mass)
        evidence = kid(prod, "Evidence")
        if evidence is not None:
            product.evidence_id = evidence.get("id")
        if product.mass_mg is None:
            result.warnings.append(Skip(where, "product mass missing"))
        product.parts = _materials(prod, where, result) + _subproducts(prod, where, result)
        product.declaration_class = "D" if product.parts else "C"
        whole = "(whole lot)" if product.evidence_id else "(declared, material not stated)"
        declared = _declared_part(prod, where, result, whole)
        if declared and product.evidence_id:
            declared[0].mass_mg = declared[0].materials[0].mass_mg = product.mass_mg
        product.parts += declared
        if product.evidence_id:
            product.declaration_class = "recycled-lot"
        complete_fractions(product)
        result.products.append(product)
    return _found(result, source)


def _found(result: ParseResult, source: str) -> ParseResult:
    """The parse of a file; one without any Product element says so (it is not an empty success)."""
    if not result.products and not result.skipped:
        result.skipped.append(Skip(source, "no Product element found"))
    return result


def _iec_parts(holder: Element, where: str, result: ParseResult, prefix: str = "") -> list[Part]:
    """IEC 62474 ProductPart (nested ones too, named 'outer / inner') with their materials."""
    parts = []
    for part_el in kids(holder, "ProductPart"):
        pname = f"{prefix}{part_el.get('name') or '(unnamed part)'}"
        pwhere = f"{where} / part {pname}"
        part = Part(name=pname, mass_mg=amount(part_el, pwhere, result, "Mass"))
        for mat_el in kids(part_el, "Material"):
            mname = mat_el.get("name") or "(unnamed material)"
            mwhere = f"{pwhere} / material {mname}"
            material = Material(name=mname, material_class=mat_el.get("materialClass") or mat_el.get("class"),
                                mass_mg=amount(mat_el, mwhere, result, "Mass"))
            if material.mass_mg is None:
                result.warnings.append(Skip(mwhere, "material mass missing: its share is unknown"))
            material.substances = substances(mat_el, mwhere, result)
            part.materials.append(material)
        direct = substances(part_el, pwhere, result)  # DsDsg/substances stated for the part as a whole
        if direct:
            part.materials.append(Material(name="(part, material not stated)", substances=direct))
        parts.append(part)
        parts += _iec_parts(part_el, pwhere, result, f"{pname} / ")
    return parts


def parse_iec(root: Element, source: str) -> ParseResult:
    """IEC 62474 (and chemSHERPA-AI articles): Composition/ProductPart/Material/Substance, Compliance DsDsg."""
    result = ParseResult()
    supplier = _supplier(root)
    for i, prod in enumerate(descend(root, "Product")):
        pid = kid(prod, "ProductID")
        model = (pid.get("identifier") or pid.get("name") or "") if pid is not None else ""
        where = f"{source}: product #{i + 1} {model or '(no identifier)'}"
        if not model or pid is None:
            result.skipped.append(Skip(where, "ProductID@identifier missing: cannot identify the product"))
            continue
        mass = amount(pid, where, result, "Mass")
        if mass is None:
            mass = amount(prod, where, result, "Mass")
        product = Product(product_id=pid.get("productId") or model, model=model,
                          manufacturer=pid.get("manufacturer") or supplier, category=pid.get("category"),
                          gtin=pid.get("gtin"), mass_mg=mass)
        if product.mass_mg is None:
            result.warnings.append(Skip(where, "product mass missing"))
        product.declaration_class = "composition"
        for comp in kids(prod, "Composition"):
            product.parts += _iec_parts(comp, where, result)
        compliance = [s for c in kids(prod, "Compliance") for s in substances(c, where, result)]
        if compliance:
            product.parts.append(Part(name="(declared, material not stated)",
                                      materials=[Material(name="(unspecified)", substances=compliance)]))
            if not any(p.name != "(declared, material not stated)" for p in product.parts):
                product.declaration_class = "compliance"
        complete_fractions(product)
        result.products.append(product)
    return _found(result, source)
