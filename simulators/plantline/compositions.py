"""Composition records of a scenario's product models, as the junkan composition CSV (docs/evidence.md).

One product per model: mass and plastic part masses are the middle of the scenario's ranges; substances
are declared where the scenario makes a part carry an additive in at least ``DECLARE_P`` of its units
(a supplier declaration covers a model's production, not one unit): bromine in HIPS -> decaBDE, bromine
in other polymers -> TBBPA, Pb/Cd/Hg as the element, at the mean of the additive's ppm range converted
to the substance. Manufacturers are fictional. The shipped files under ``simulators/scenarios/compositions/``
are this module's output (``python -m simulators.plantline.compositions`` rewrites them; a test checks).
"""

from __future__ import annotations

import csv
import io
import sys

from simulators.plantline.schema import SCENARIO_DIR, Scenario, load_scenario

COMPOSITION_DIR = SCENARIO_DIR / "compositions"
COLUMNS = ("product_id", "model", "manufacturer", "category", "product_mass", "product_mass_unit", "gtin",
           "part", "material", "material_class", "material_mass", "material_mass_unit",
           "substance", "cas", "substance_amount", "substance_unit", "dsl_ref")
DECLARE_P = 0.3
MAKERS = {"weee": ("Aozora Electronics", "Hoshi Appliances", "Kawase Denki", "Mirai Home"),
          "elv": ("Tsubame Motors", "Kumo Automotive", "Hayate Motor Works")}
ELV_CATEGORIES = frozenset({"car", "vehicle", "truck", "motorcycle"})
# element -> (substance name, CAS, element mass fraction of the substance), by whether the polymer is HIPS
_BR_HIPS = ("Decabromodiphenyl ether", "1163-19-5", 0.833)
_BR_OTHER = ("Tetrabromobisphenol A", "79-94-7", 0.588)
_METALS = {"Pb": ("Lead", "7439-92-1", 1.0), "Cd": ("Cadmium", "7440-43-9", 1.0), "Hg": ("Mercury", "7439-97-6", 1.0)}


def source_stream(category: str) -> str:
    return "elv" if category in ELV_CATEGORIES else "weee"


def manufacturers(scenario: Scenario) -> dict[str, str]:
    """Model -> fictional manufacturer, assigned round robin per stream (deterministic)."""
    out: dict[str, str] = {}
    counters = {"weee": 0, "elv": 0}
    for product in scenario.products:
        stream = source_stream(product.category)
        for model in product.models:
            out[model] = MAKERS[stream][counters[stream] % len(MAKERS[stream])]
            counters[stream] += 1
    return out


def product_id(maker: str, model: str) -> str:
    return "".join(w[0] for w in maker.split()).upper() + "-" + model


def composition_rows(scenario: Scenario) -> list[dict[str, str]]:
    """Pure: the CSV rows (one per material or declared substance) of every model of the scenario."""
    makers = manufacturers(scenario)
    rows: list[dict[str, str]] = []
    for product in scenario.products:
        for model in product.models:
            base = {"product_id": product_id(makers[model], model), "model": model, "manufacturer": makers[model],
                    "category": product.category, "product_mass": f"{sum(product.mass_kg) / 2:g}",
                    "product_mass_unit": "kg", "gtin": ""}
            for part in product.parts:
                material = {"part": part.part, "material": f"{part.polymer} {part.part}",
                            "material_class": part.polymer, "material_mass": f"{sum(part.mass_kg) / 2:g}",
                            "material_mass_unit": "kg"}
                declared = []
                for el, spec in sorted(part.elements.items()):
                    if spec.p < DECLARE_P:
                        continue
                    if el == "Br":
                        name, cas, share = _BR_HIPS if part.polymer == "HIPS" else _BR_OTHER
                    elif el in _METALS:
                        name, cas, share = _METALS[el]
                    else:
                        continue
                    ppm = sum(spec.ppm) / 2 / share
                    declared.append({"substance": name, "cas": cas, "substance_amount": f"{ppm:.0f}",
                                     "substance_unit": "ppm", "dsl_ref": "IEC62474:D31.00"})
                for sub in declared or [{}]:
                    rows.append(dict.fromkeys(COLUMNS, "") | base | material | sub)
    return rows


def composition_csv(scenario: Scenario) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(composition_rows(scenario))
    return buf.getvalue()


def main() -> int:
    """Rewrite ``simulators/scenarios/compositions/<name>.csv`` for every shipped scenario."""
    COMPOSITION_DIR.mkdir(exist_ok=True)
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        out = COMPOSITION_DIR / f"{path.stem}.csv"
        out.write_text(composition_csv(load_scenario(path.stem)), encoding="utf-8")
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
