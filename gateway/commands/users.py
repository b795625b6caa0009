"""`junkan gateway users add|list|rotate|revoke --db PATH`: API users; a token is printed once, stored hashed."""

from __future__ import annotations

import argparse
import sys

from gateway.auth.policy import ROLES


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("users", help="Manage API/dashboard users and their tokens.")
    actions = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="Create a user and print its token (shown once).")
    add.add_argument("name", help="User or machine name.")
    add.add_argument("--role", required=True, choices=ROLES, help="What the user may do (docs/security.md).")
    add.add_argument("--recycler", help="For --role recycler: recycler id lots are addressed to (default: NAME).")
    rotate = actions.add_parser("rotate", help="Print a new token for a user; the old one stops working.")
    rotate.add_argument("name", help="User name.")
    revoke = actions.add_parser("revoke", help="Revoke a user's token and end its sessions.")
    revoke.add_argument("name", help="User name.")
    actions.add_parser("list", help="List users (never tokens).")
    for action in (add, rotate, revoke, *[actions.choices["list"]]):
        action.add_argument("--db", default="var/gateway.db",
                            help="Store: a SQLite file path or a postgresql:// URL (default var/gateway.db).")
        action.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.auth import AuthRepo, UserError
    from gateway.auth.repo import LastAdminError
    from gateway.commands.export import store_url
    from gateway.store import open_store

    store = open_store(store_url(args.db))
    repo = AuthRepo(store.db)
    try:
        if args.users_command == "add":
            token = repo.add_user(args.name, args.role, args.recycler)
            print(f"user {args.name} ({args.role}) created; token (shown once, store it safely):", file=sys.stderr)
            print(token)
        elif args.users_command == "rotate":
            token = repo.rotate(args.name)
            print(f"new token for {args.name} (the old one no longer works):", file=sys.stderr)
            print(token)
        elif args.users_command == "revoke":
            repo.revoke(args.name)
            print(f"user {args.name} revoked", file=sys.stderr)
        else:
            for user in repo.list_users():
                state = "revoked" if user["revoked_at"] else "active"
                print(f"{user['name']}\t{user['role']}\t{user['recycler'] or '-'}\t{state}\t{user['created_at']}")
    except (UserError, LastAdminError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    return 0
