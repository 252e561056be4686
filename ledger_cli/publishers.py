"""``ledger publishers create|grant|list|revoke``: which broker users may send commands, with which scopes."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from uuid import UUID

from contracts.keys import Scope
from contracts.permissions import publisher_grant, service_grants
from ledger_common import publishers
from ledger_common.db import connect
from ledger_common.settings import Settings

EXAMPLES = """\
scopes: repeat --scope once per scope (not a comma list), e.g.
  ledger publishers create orders --scope transfer --scope holds
  ledger publishers grant orders --scope transfer --scope holds --scope payments
  ledger publishers create shop-eu --scope transfer --wallet 5b2d8f1e-3c4a-4e6b-9d0f-2a4c6e8b0d1f
"""
CREATE = """\
One command for a new publisher: its RabbitMQ user (password from BROKER_PASSWORD_<NAME>, else a random one
printed once), its permissions in the vhost (publish to ledger.commands; declare and consume its own reply
queues <name>.replies.*; nothing else) and its scopes in the ledger. Runs rabbitmqctl on a broker node;
the vhost and topology must exist (ledger broker-setup). Re-running resets the password, permissions and
scopes.
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser(
        "publishers",
        help="broker users allowed to publish commands, and their scopes",
        epilog=EXAMPLES,
        formatter_class=raw,
    )
    actions = p.add_subparsers(dest="action", required=True)
    c = actions.add_parser(
        "create",
        help="create a publisher's broker user, vhost permissions and scopes in one command",
        description=CREATE,
        epilog=EXAMPLES,
        formatter_class=raw,
    )
    c.add_argument("name", help="the broker user (its commands are recorded as amqp:<name>)")
    add_scope_arguments(c)
    c.add_argument("--vhost", default=None, help="default: the vhost of AMQP_URL")
    g = actions.add_parser(
        "grant", help="create or replace a publisher's scopes (and wallet)", epilog=EXAMPLES, formatter_class=raw
    )
    g.add_argument("name", help="the broker user (its commands are recorded as amqp:<name>)")
    add_scope_arguments(g)
    actions.add_parser("list", help="every publisher").add_argument("--json", action="store_true")
    r = actions.add_parser("revoke", help="remove a publisher: its next commands are refused")
    r.add_argument("name")
    r.add_argument("--delete-user", action="store_true", help="also delete its RabbitMQ user (rabbitmqctl)")


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope",
        action="append",
        default=[],
        choices=[s.value for s in Scope],
        metavar="SCOPE",
        help=f"a scope to grant; repeat for several (--scope transfer --scope holds). One of: "
        f"{', '.join(s.value for s in Scope)}",
    )
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


async def create(settings: Settings, args: argparse.Namespace) -> int:
    """The broker user and its permissions first: without the grant that follows it may do nothing."""
    from ledger_cli.broker import BrokerSetupError, password_variable, set_users, vhost_of

    try:
        grant = publisher_grant(settings.ledger_namespace, args.name)
        # A gateway user's commands may name the principal they act for, and a service user's password and
        # permissions are broker-setup's: making either a publisher would reset them or widen its trust.
        if args.name in settings.gateway_users | {g.user for g in service_grants(settings.ledger_namespace)}:
            raise ValueError(f"{args.name!r} is a service or gateway user (AMQP_GATEWAY_USERS), not a publisher")
    except ValueError as exc:
        print(f"ledger publishers create: {exc}", file=sys.stderr)
        return 2
    vhost = args.vhost or vhost_of(settings.amqp_url.get_secret_value())
    given = os.environ.get(password_variable(args.name))
    password = given or secrets.token_urlsafe(24)
    try:
        set_users([grant], vhost=vhost, passwords={args.name: password})
    except BrokerSetupError as exc:
        print(f"ledger publishers create: {exc}", file=sys.stderr)
        return 2
    await grant_all(settings, [args.name], args)
    print(
        f"broker user {args.name} in vhost {vhost}: configure {grant.configure} write {grant.write} read {grant.read}"
    )
    print(f"publisher {args.name}: {', '.join(sorted(args.scope)) or 'no scope'}")
    if not given:
        print(f"password (shown once, store it now): {password}")
    return 0


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.action == "create":
        return await create(settings, args)
    if args.action == "grant":
        await grant_all(settings, [args.name], args)
        print(f"publisher {args.name}: {', '.join(sorted(args.scope)) or 'no scope'}")
        return 0
    conn = await connect(settings.database_url.get_secret_value())
    try:
        if args.action == "revoke":
            found = await publishers.revoke(conn, args.name)
            print(f"publisher {args.name} {'revoked' if found else 'was not registered'}")
            if args.delete_user:
                from ledger_cli.broker import delete_user

                print(f"broker user {args.name} {'deleted' if delete_user(args.name) else 'did not exist'}")
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
