"""``ledger publishers grant|list|revoke``: which broker users may send commands, with which scopes."""

from __future__ import annotations

import argparse
import json
from uuid import UUID

from contracts.keys import Scope
from ledger_common import publishers
from ledger_common.db import connect
from ledger_common.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("publishers", help="broker users allowed to publish commands, and their scopes")
    actions = p.add_subparsers(dest="action", required=True)
    g = actions.add_parser("grant", help="create or replace a publisher's scopes (and wallet)")
    g.add_argument("name", help="the broker user (its commands are recorded as amqp:<name>)")
    add_scope_arguments(g)
    actions.add_parser("list", help="every publisher").add_argument("--json", action="store_true")
    actions.add_parser("revoke", help="remove a publisher: its next commands are refused").add_argument("name")


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scope", action="append", default=[], choices=[s.value for s in Scope], help="repeatable")
    parser.add_argument("--wallet", type=UUID, default=None, help="bind to one wallet (acts only as that wallet)")


async def grant_all(settings: Settings, names: list[str], args: argparse.Namespace) -> None:
    """Grant ``args.scope`` (and ``args.wallet``) to each of ``names``."""
    conn = await connect(settings.database_url.get_secret_value())
    try:
        async with conn.transaction():
            for name in names:
                await publishers.grant(conn, name, [Scope(s) for s in args.scope], wallet_id=args.wallet)
    finally:
        await conn.close()


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "grant":
        await grant_all(settings, [args.name], args)
        print(f"publisher {args.name}: {', '.join(sorted(args.scope)) or 'no scope'}")
        return 0
    conn = await connect(settings.database_url.get_secret_value())
    try:
        if args.action == "revoke":
            found = await publishers.revoke(conn, args.name)
            print(f"publisher {args.name} {'revoked' if found else 'was not registered'}")
            return 0 if found else 1
        rows = await publishers.listed(conn)
    finally:
        await conn.close()
    if args.json:
        listing = [{"name": p.name, "scopes": list(p.scopes), "wallet_id": p.wallet_id} for p in rows]
        print(json.dumps(listing, default=str))
    else:
        for p in rows:
            print(f"{p.name}\t{','.join(p.scopes)}\t{p.wallet_id or '-'}")
    return 0
