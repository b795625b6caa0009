"""`junkan sim nir-sorter --modbus-port 5020 [--events-port 5021]`: an NIR sorter's PLC (Modbus TCP,
junkan's register map) and optionally its per-object JSON event socket, from one class-mix scenario."""

from __future__ import annotations

import argparse
import threading
import time


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("nir-sorter", help="Simulate an NIR sorter: Modbus TCP counters and/or JSON object events.")
    p.add_argument("--modbus-port", type=int, default=5020, help="Modbus TCP port (0: no Modbus server).")
    p.add_argument("--events-port", type=int, default=0, help="TCP port for JSON object events (0: none).")
    p.add_argument("--channels", default="PET,PE,PP,PS", help="Polymer programs, comma-separated.")
    p.add_argument("--mix", default="0.35,0.25,0.3,0.1", help="Share of each channel, comma-separated.")
    p.add_argument("--rate", type=float, default=50.0, help="Objects per second.")
    p.add_argument("--seed", type=int, default=1, help="Random seed.")
    p.add_argument("--duration", type=float, help="Stop after this many seconds.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from simulators.nir_events_tcp import ObjectStream
    from simulators.nir_sorter_modbus import SorterPlc, SorterScenario
    from simulators.tcp_port import TcpServerPort

    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    mix = [float(x) for x in args.mix.split(",")]
    if len(mix) != len(channels):
        print("--mix needs one share per channel")
        return 2
    scenario = SorterScenario(channels=channels, mix=mix, objects_per_s=args.rate, seed=args.seed)
    stop = threading.Event()
    plc = SorterPlc(scenario, args.modbus_port).start() if args.modbus_port else None
    if plc:
        print(f"modbus tcp://127.0.0.1:{args.modbus_port} unit 1", flush=True)
    events = None
    if args.events_port:
        events = TcpServerPort(port=args.events_port)
        print(events.url, flush=True)
        threading.Thread(target=ObjectStream(SorterScenario(channels=channels, mix=mix, objects_per_s=args.rate,
                                                            seed=args.seed), events).serve,
                         args=(stop,), daemon=True).start()
    try:
        deadline = time.monotonic() + args.duration if args.duration else None
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop.set()
    if plc:
        plc.stop()
        print(f"objects per channel: {scenario.totals}", flush=True)
    if events:
        events.close()
    return 0
