"""NIR spectrometer simulator: synthetic polymer reflectance spectra, streamed as CSV lines over TCP.

Spectra are built from literature band positions (devices.md §2, table in
``models/nir_polymer/MODEL_CARD.md``): a scattering baseline times Gaussian absorption bands, seen through
LEDs of finite bandwidth, with multiplicative and additive noise. The same functions generate the
training set of ``models/nir_polymer``. Run: ``python -m simulators.nir_spectrometer --port 4001`` and
point the driver at ``socket://127.0.0.1:4001``.
"""

from __future__ import annotations

import argparse
import json
import socket
import time
from pathlib import Path

import numpy as np

LED_NM = (940, 1050, 1200, 1300, 1450, 1550, 1650, 1720)  # Plastic Scanner DB2.1 LEDs
LED_FWHM_NM = 70.0
CLASSES = ("PP", "PE", "PET", "PS", "ABS", "PC", "PVC", "PA", "other")

# (centre nm, width sigma nm, relative depth); 900-1750 nm only (InGaAs range of the LED board).
BANDS: dict[str, list[tuple[float, float, float]]] = {
    "PE": [(1212, 15, 0.30), (1395, 15, 0.15), (1415, 15, 0.15), (1728, 12, 0.55), (1762, 12, 0.50)],
    "PP": [(1195, 15, 0.30), (1395, 20, 0.15), (1702, 12, 0.55), (1730, 12, 0.35)],
    "PS": [(1143, 12, 0.30), (1680, 12, 0.55), (1410, 25, 0.10)],
    "ABS": [(1143, 12, 0.20), (1210, 15, 0.10), (1680, 12, 0.40), (1730, 15, 0.30)],
    "PET": [(1130, 12, 0.25), (1660, 14, 0.50), (1410, 30, 0.10)],
    "PC": [(1140, 12, 0.20), (1680, 12, 0.35), (1700, 12, 0.30), (1420, 60, 0.15)],
    "PVC": [(1195, 15, 0.12), (1420, 30, 0.05), (1725, 15, 0.20)],
    "PA": [(1520, 30, 0.40), (1210, 15, 0.15), (1730, 15, 0.30), (1940, 40, 0.3)],
}
_GRID = np.arange(850.0, 1850.0, 5.0)


def spectrum(polymer: str, rng: np.random.Generator) -> np.ndarray:
    """A high-resolution reflectance spectrum on ``_GRID`` for one object of ``polymer``."""
    base = rng.uniform(0.25, 0.9)  # colour/scatter/distance
    # Smooth baseline in log space (scatter, particle size, geometry, imperfect white reference).
    # The slope prior (mean -0.45) was set from the *train* split of the Plastic Scanner data only.
    slope, curve = rng.normal(-0.45, 0.3), rng.normal(0, 0.2)
    thick = rng.uniform(0.4, 1.6)  # band depth grows with thickness/path length
    absorb = np.zeros_like(_GRID)
    if polymer == "other":  # PLA/PMMA/paper/rubber/black: random weak bands or flat and dark
        if rng.random() < 0.3:
            base = rng.uniform(0.02, 0.08)
        for _ in range(rng.integers(0, 4)):
            c, w, d = rng.uniform(1000, 1750), rng.uniform(10, 60), rng.uniform(0.05, 0.4)
            absorb += d * np.exp(-0.5 * ((_GRID - c) / w) ** 2)
    else:
        for c, w, d in BANDS[polymer]:
            c += rng.normal(0, 4)
            absorb += d * thick * rng.uniform(0.8, 1.2) * np.exp(-0.5 * ((_GRID - c) / w) ** 2)
    water = rng.uniform(0, 0.08) * np.exp(-0.5 * ((_GRID - 1450) / 40) ** 2)
    u = (_GRID - 1300) / 450
    refl = base * np.exp(slope * u + curve * u * u) * np.exp(-(absorb + water))
    return np.clip(refl, 0.005, 1.2)


def led_readings(spec: np.ndarray, leds: tuple[int, ...] = LED_NM, fwhm: float = LED_FWHM_NM) -> np.ndarray:
    """What each LED channel sees: the spectrum weighted by the LED's emission band."""
    sigma = fwhm / 2.355
    out = []
    for c in leds:
        wgt = np.exp(-0.5 * ((_GRID - c) / sigma) ** 2)
        out.append(float((spec * wgt).sum() / wgt.sum()))
    return np.array(out)


def sample(n: int, seed: int, leds: tuple[int, ...] = LED_NM, noise: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic LED reflectance vectors and their class indices (balanced)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(CLASSES)
    rng.shuffle(y)
    x = np.empty((n, len(leds)))
    for i, k in enumerate(y):
        r = led_readings(spectrum(CLASSES[k], rng), leds)
        r = r * (1 + rng.normal(0, noise, r.shape)) + rng.normal(0, noise / 4, r.shape)
        x[i] = np.clip(r, 1e-3, None)
    return x, y


def serve(port: int, rate_hz: float, seed: int, truth: Path | None, count: int) -> None:
    """Accept one client at a time and stream ``<r1>,...,<r8>`` lines at ``rate_hz``."""
    rng = np.random.default_rng(seed)
    srv = socket.create_server(("127.0.0.1", port))
    print(f"NIR simulator on socket://127.0.0.1:{port}", flush=True)
    sent = 0
    with srv, truth.open("a", encoding="utf-8") if truth else open("/dev/null", "w") as tf:
        while sent < count:
            conn, _ = srv.accept()
            with conn:
                try:
                    while sent < count:
                        k = int(rng.integers(len(CLASSES)))
                        r = led_readings(spectrum(CLASSES[k], rng)) * (1 + rng.normal(0, 0.01, len(LED_NM)))
                        conn.sendall((",".join(f"{v:.5f}" for v in r) + "\r\n").encode())
                        tf.write(json.dumps({"seq": sent, "polymer": CLASSES[k]}) + "\n")
                        tf.flush()
                        sent += 1
                        time.sleep(1.0 / rate_hz)
                except (BrokenPipeError, ConnectionResetError):
                    continue


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, default=4001)
    p.add_argument("--rate", type=float, default=5.0, help="Objects per second.")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--truth", help="Ground truth JSON lines (polymer per line sent).")
    p.add_argument("--count", type=int, default=10**9)
    a = p.parse_args()
    serve(a.port, a.rate, a.seed, Path(a.truth) if a.truth else None, a.count)


if __name__ == "__main__":
    main()
