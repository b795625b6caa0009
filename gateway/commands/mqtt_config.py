"""`junkan gateway mqtt-config`: write a production Mosquitto config (TLS, passwords, per-agent ACL)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("mqtt-config", help="Generate a production Mosquitto config with TLS and per-agent ACLs.")
    p.add_argument("--out", required=True, help="Folder to write mosquitto.conf, passwd, acl, certs/, secrets/.")
    p.add_argument("--agent", action="append", required=True, metavar="SITE/LINE/AGENT",
                   help="An agent allowed on this broker (repeat for each).")
    p.add_argument("--port", type=int, default=8883, help="TLS listener port.")
    p.add_argument("--bind", default="0.0.0.0", help="Listener address.")
    p.add_argument("--host", action="append", help="Broker host names/addresses for the server certificate.")
    p.add_argument("--no-tls", action="store_true", help="Plain listener (only behind another TLS terminator).")
    p.add_argument("--client-certs", action="store_true", help="Also require client certificates (one per user).")
    p.add_argument("--run-as", help="User Mosquitto runs as (its `user` option) when it must read these files.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.security.mqtt_config import AgentIdentity, generate

    agents = [AgentIdentity.parse(a) for a in args.agent]
    secrets = generate(Path(args.out), agents, port=args.port, tls=not args.no_tls,
                       client_certs=args.client_certs, hosts=args.host, bind=args.bind,
                       run_as=args.run_as)
    out = Path(args.out).resolve()
    print(f"Wrote {out}/mosquitto.conf (start: mosquitto -c {out}/mosquitto.conf)")
    for user, path in secrets.items():
        print(f"  {user}: password_file {path}")
    if not args.no_tls:
        print(f"  CA for clients: {out}/certs/ca.crt")
    return 0
