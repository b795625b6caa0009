"""Decoder throughput on the golden inputs: `python -m tests.devices.bench_decoders` (not a test).

Each driver's golden input bytes are repeated to ~1 MB (or 2 000 copies) and fed in 4 kB chunks to one
decoder; prints items (readings + bad frames) per second and MB/s. Stateful decoders (Modbus dumps,
XRF CSV) see repeated headers/baselines, which is fine for a throughput figure.
"""

from __future__ import annotations

import time

from edge_agent.drivers import DRIVERS
from tests.devices.golden import STREAM_SUFFIXES, case_config, cases, input_file


def main() -> None:
    print(f"{'driver':20} {'items/s':>12} {'MB/s':>8} {'items':>9}")
    for key in sorted(DRIVERS):
        key_cases = [c for c in cases() if c.parent.name == key and input_file(c).suffix in STREAM_SUFFIXES]
        if not key_cases:
            continue
        case = key_cases[0]
        one = input_file(case).read_bytes()
        data = one * max(1, min(2000, (1 << 20) // len(one)))
        decoder = DRIVERS[key].decoder(case_config(case))
        t0 = time.perf_counter()
        n = sum(len(decoder.feed(data[i : i + 4096])) for i in range(0, len(data), 4096))
        dt = time.perf_counter() - t0
        print(f"{key:20} {n / dt:12,.0f} {len(data) / dt / 1e6:8.2f} {n:9,}")


if __name__ == "__main__":
    main()
