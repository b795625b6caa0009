"""Polymer names as the plant's NIR library writes them -> ISO 1043-1 symbols (and the VDA 231-106 class).

Why: exports that cite ISO 1043-1 (Catena-X ``materialNameStandardized``, UNTP material names) must carry the
standard's symbol, not the trade term the sorter's library uses ("HIPS" is PS-HI; a PC/ABS blend is PC+ABS).
Only the gateway's exporters need it; the agent keeps its library names (they are what the NIR reports).

Sources (shared/reference/regulation.md §5):
- ISO 1043-1 scope, one unambiguous abbreviation per plastic [ÖNORM EN ISO 1043-1:2012 scope];
- qualifiers after a hyphen (PE-HD, PE-LD, PE-LLD, PS-HI, PVC-U/-P) [ISO 1043-1 symbols as used in ISO 11469:2016];
- blends with "+" between the components, main component first, no spaces (PC+ABS) [HP 5951-1741-1
  "Plastic Part Marking" §4.1.1; DIN ISO 11469 summaries]; PA6 / PA66 without a space (marking ``>PA66-MD20<``);
- rubbers per ISO 1629 (EPDM), TPE per ISO 18064 (not ISO 1043-1: the table says so in ``standard``).
VDA 231-106 material classes (Catena-X ``materialClass``): 5.1 thermoplastics, 5.2 thermoplastic elastomers,
5.3 elastomers, 5.4 thermosets (duromers); the sub-letter (filled/unfilled) is not known from NIR and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PolymerName:
    symbol: str  # the standard's symbol
    standard: str  # "ISO 1043-1", "ISO 1629", "ISO 18064"
    vda_class: str  # VDA 231-106
    known: bool = True  # False: the library name had no table entry and is passed through as it was


_THERMOPLASTIC = "5.1"
TABLE: dict[str, PolymerName] = {
    "PP": PolymerName("PP", "ISO 1043-1", _THERMOPLASTIC),
    "PE": PolymerName("PE", "ISO 1043-1", _THERMOPLASTIC),
    "HDPE": PolymerName("PE-HD", "ISO 1043-1", _THERMOPLASTIC),
    "PE-HD": PolymerName("PE-HD", "ISO 1043-1", _THERMOPLASTIC),
    "LDPE": PolymerName("PE-LD", "ISO 1043-1", _THERMOPLASTIC),
    "PE-LD": PolymerName("PE-LD", "ISO 1043-1", _THERMOPLASTIC),
    "LLDPE": PolymerName("PE-LLD", "ISO 1043-1", _THERMOPLASTIC),
    "PS": PolymerName("PS", "ISO 1043-1", _THERMOPLASTIC),
    "HIPS": PolymerName("PS-HI", "ISO 1043-1", _THERMOPLASTIC),
    "PS-HI": PolymerName("PS-HI", "ISO 1043-1", _THERMOPLASTIC),
    "EPS": PolymerName("PS-E", "ISO 1043-1", _THERMOPLASTIC),
    "ABS": PolymerName("ABS", "ISO 1043-1", _THERMOPLASTIC),
    "SAN": PolymerName("SAN", "ISO 1043-1", _THERMOPLASTIC),
    "PC": PolymerName("PC", "ISO 1043-1", _THERMOPLASTIC),
    "PC/ABS": PolymerName("PC+ABS", "ISO 1043-1", _THERMOPLASTIC),
    "PC-ABS": PolymerName("PC+ABS", "ISO 1043-1", _THERMOPLASTIC),
    "PC+ABS": PolymerName("PC+ABS", "ISO 1043-1", _THERMOPLASTIC),
    "PPE/PS": PolymerName("PPE+PS", "ISO 1043-1", _THERMOPLASTIC),
    "PPO": PolymerName("PPE", "ISO 1043-1", _THERMOPLASTIC),
    "PPE": PolymerName("PPE", "ISO 1043-1", _THERMOPLASTIC),
    "PA": PolymerName("PA", "ISO 1043-1", _THERMOPLASTIC),
    "PA6": PolymerName("PA6", "ISO 1043-1", _THERMOPLASTIC),
    "PA 6": PolymerName("PA6", "ISO 1043-1", _THERMOPLASTIC),
    "PA66": PolymerName("PA66", "ISO 1043-1", _THERMOPLASTIC),
    "PA 66": PolymerName("PA66", "ISO 1043-1", _THERMOPLASTIC),
    "PMMA": PolymerName("PMMA", "ISO 1043-1", _THERMOPLASTIC),
    "PVC": PolymerName("PVC", "ISO 1043-1", _THERMOPLASTIC),
    "PET": PolymerName("PET", "ISO 1043-1", _THERMOPLASTIC),
    "PBT": PolymerName("PBT", "ISO 1043-1", _THERMOPLASTIC),
    "POM": PolymerName("POM", "ISO 1043-1", _THERMOPLASTIC),
    "PU": PolymerName("PUR", "ISO 1043-1", "5.4"),
    "PUR": PolymerName("PUR", "ISO 1043-1", "5.4"),
    "EPDM": PolymerName("EPDM", "ISO 1629", "5.3"),
    "TPE": PolymerName("TPE", "ISO 18064", "5.2"),
}


def standard_name(library_name: str) -> PolymerName:
    """The standard name of a polymer as the NIR library calls it; unknown names pass through, ``known=False``
    (the exporter says so instead of inventing a symbol)."""
    key = library_name.strip().upper()
    found = TABLE.get(key) or TABLE.get(key.replace(" ", ""))
    return found or PolymerName(library_name.strip(), "ISO 1043-1", _THERMOPLASTIC, known=False)
