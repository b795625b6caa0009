"""The junkan composition CSV (documented in docs/evidence.md): one row per substance or material.

Rows with the same ``product_id`` build one product; ``part``/``material`` group the rows below it.
A row with an empty ``substance`` declares a material only. ``substance_unit`` may be a mass unit or a
concentration (``%``, ``ppm``) of the material.
"""

from __future__ import annotations

import csv
import io

from gateway.composition.model import (
    FRACTION_UNITS,
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

COLUMNS = ("product_id", "model", "manufacturer", "category", "product_mass", "product_mass_unit", "gtin",
           "part", "material", "material_class", "material_mass", "material_mass_unit",
           "substance", "cas", "substance_amount", "substance_unit", "dsl_ref")
REQUIRED = ("product_id", "model")


class CsvFormatError(Exception):
    pass


def parse_csv(data: bytes, source: str) -> ParseResult:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(f"{source}: not UTF-8 text: {exc}") from None
    try:
        return _parse_rows(csv.DictReader(io.StringIO(text)), source)
    except csv.Error as exc:
        raise CsvFormatError(f"{source}: not a readable CSV file: {exc}") from None


def _parse_rows(reader: csv.DictReader[str], source: str) -> ParseResult:
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvFormatError(f"{source}: header lacks required column(s) {missing}; expected {list(COLUMNS)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise CsvFormatError(f"{source}: unknown column(s) {unknown}; allowed {list(COLUMNS)}")
    result = ParseResult()
    products: dict[str, Product] = {}
    bad_products: set[str] = set()
    for lineno, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        where = f"{source}:{lineno}"
        pid = row.get("product_id", "")
        if not pid or not row.get("model"):
            result.skipped.append(Skip(where, "product_id and model are required"))
            continue
        if pid in bad_products:
            continue
        product = products.get(pid)
        if product is None:
            product = Product(product_id=pid, model=row["model"], manufacturer=row.get("manufacturer") or None,
                              category=row.get("category") or None, gtin=row.get("gtin") or None,
                              declaration_class="csv")
            if row.get("product_mass"):
                try:
                    product.mass_mg = mass_mg(row["product_mass"], row.get("product_mass_unit"))
                except ValueError as exc:
                    result.skipped.append(Skip(where, f"product {pid} skipped: {exc}"))
                    bad_products.add(pid)
                    continue
            else:
                result.warnings.append(Skip(where, f"product {pid}: mass missing"))
            products[pid] = product
        if not row.get("material"):
            continue
        part_name = row.get("part") or row["material"]
        part = next((p for p in product.parts if p.name == part_name), None)
        if part is None:
            part = Part(name=part_name)
            product.parts.append(part)
        material = next((m for m in part.materials if m.name == row["material"]), None)
        if material is None:
            material = Material(name=row["material"], material_class=row.get("material_class") or None)
            if row.get("material_mass"):
                try:
                    material.mass_mg = mass_mg(row["material_mass"], row.get("material_mass_unit"))
                except ValueError as exc:
                    result.skipped.append(Skip(where, f"material {row['material']} mass ignored: {exc}"))
            else:
                result.warnings.append(Skip(where, f"material {row['material']}: mass missing"))
            part.materials.append(material)
        if not row.get("substance"):
            continue
        sub = Substance(name=row["substance"], cas=row.get("cas") or None, dsl_ref=row.get("dsl_ref") or None)
        if row.get("substance_amount"):
            unit = row.get("substance_unit", "")
            try:
                if unit.lower() in FRACTION_UNITS:
                    sub.fraction = fraction_of(row["substance_amount"], unit)
                else:
                    sub.mass_mg = mass_mg(row["substance_amount"], unit)
            except ValueError as exc:
                result.skipped.append(Skip(where, f"substance {sub.name} amount ignored (presence kept): {exc}"))
        if check_substance(sub, f"{where} / substance {sub.name}", result):
            material.substances.append(sub)
    for product in products.values():
        for part in product.parts:
            if part.mass_mg is None and part.materials and all(m.mass_mg is not None for m in part.materials):
                part.mass_mg = sum(m.mass_mg or 0.0 for m in part.materials)
        complete_fractions(product)
    result.products = list(products.values())
    return result
