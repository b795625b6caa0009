"""Build avantes_20230419.csv (a second day on the same AvaSpec-NIR256) from a git snapshot of Plastic-Scanner/Data.

Why: the shared file is one day (3 Oct 2022); this day (19 Apr 2023, same spectrometer serial 1204091U1, other
integration time, other white tile) tests whether the model holds on another session. Values are the files'
``Reflectance`` column as given (decimal commas to dots) on the 180 pixels of the shared file's grid (the
files have 225, to 1901 nm); nothing is smoothed or resampled. Run:
``python models/nir_polymer_nir256/data/build_20230419.py /path/to/Plastic-Scanner-Data.git [commit]``.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FOLDER = "data/20230419_avantes_spectrometer_fifth_dataset"
NAMED = ("PP", "PET", "HDPE", "PS", "PVC")
NAME = re.compile(r"(.+?)_([A-Za-z]+)_FCR_(\d)\.txt$")


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


def sample_id(raw: str, typ: str) -> str:
    """Shared-file conventions: 3-digit numbers as they are, KL/DW ids upper case; other names (2mm, A, B...) are
    not unique across types (2mm_PMMA, 2mm_PS), so they carry the type: ``2mm_pmma``."""
    if raw.isdigit():
        return raw
    if raw.lower().startswith(("kl", "dw")):
        return raw.upper()
    return f"{raw}_{typ}".lower()


def main() -> None:
    repo, commit = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "HEAD")
    shared = HERE.parents[3] / "shared" / "data" / "nir" / "avantes_nir256_train.csv"
    grid = shared.open(encoding="utf-8").readline().strip().split(",")[4:]
    out = []
    for name in git(repo, "ls-tree", "-r", "--name-only", f"{commit}:{FOLDER}").split():
        m = NAME.match(name)
        if not m:
            continue  # README, reference_end_measurement_*.txt
        raw, typ, scan = m.groups()
        lines = [ln.split(";") for ln in git(repo, "show", f"{commit}:{FOLDER}/{name}").splitlines()[7:] if ln.strip()]
        wl = [f"{float(c[0].replace(',', '.')):.2f}" for c in lines]
        if wl[: len(grid)] != grid:
            raise SystemExit(f"{name}: wavelength grid differs from the shared file's")
        px = lines[: len(grid)]
        saturated = sum(float(c[1].replace(",", ".")) >= 65535 for c in px)
        polymer = typ.upper() if typ.upper() in NAMED else "OTHER"
        out.append([sample_id(raw, typ), polymer, scan, name, typ, saturated,
                    *[c[4].strip().replace(",", ".") for c in px]])
    with (HERE / "avantes_20230419.csv").open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sample_id", "polymer", "scan", "file", "type", "saturated_px", *grid])
        w.writerows(out)
    print(f"{len(out)} rows, {len({r[0] for r in out})} samples")


if __name__ == "__main__":
    main()
