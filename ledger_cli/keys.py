"""``ledger keys create|list|revoke|limits``: key administration straight on the database.

Actions are recorded as principal ``cli:<os user>`` in ``admin_audit`` and as ``key.*`` events, exactly
as through the admin API (both call ``ledger_common.keystore``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from uuid import UUID

from pydantic import ValidationError

from contracts.keys import KeyLimits, KeySpec, KeyView, RateLimit, Scope, SpendingLimit
from ledger_common import keystore
from ledger_common.db import create_pool
from ledger_common.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="create, list, revoke API keys and set their limits")
    action = keys.add_subparsers(dest="action", required=True)
    create = action.add_parser("create", help="create a key and print its secret (shown once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", dest="scopes", action="append", required=True, choices=[s.value for s in Scope])
    create.add_argument("--wallet", type=UUID, default=None, help="bind the key to one wallet")
    _rate_arguments(create)
    create.add_argument("--json", action="store_true")
    listing = action.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--active", action="store_true", help="hide revoked keys")
    listing.add_argument("--json", action="store_true")
    revoke = action.add_parser("revoke", help="revoke a key; every gateway refuses it from its next request")
    revoke.add_argument("key_id", type=UUID)
    limits = action.add_parser("limits", help="show, or replace, a key's rate and spending limits")
    limits.add_argument("key_id", type=UUID)
    _rate_arguments(limits)
    limits.add_argument(
        "--spend",
        action="append",
        default=[],
        metavar="CUR:PER_TX:PER_DAY",
        help="spending limit in minor units, either part may be empty (USD:5000:20000, EUR::100000)",
    )
    limits.add_argument("--clear", action="store_true", help="remove every limit")


def _rate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=None, help="requests per second (with --burst)")
    parser.add_argument("--burst", type=int, default=None, help="bucket size: requests allowed at once")


async def keys(settings: Settings, args: argparse.Namespace) -> int:
    principal = f"cli:{getpass.getuser()}"
    pool = await create_pool(settings.database_url.get_secret_value(), size=1)
    try:
        async with pool.acquire() as conn:
            if args.action == "create":
                spec = KeySpec(name=args.name, scopes=args.scopes, wallet_id=args.wallet, rate_limit=_rate(args))
                pepper = settings.api_key_pepper.get_secret_value().encode()
                created = await keystore.create_key(
                    conn, spec, principal=principal, pepper=pepper, environment=settings.environment
                )
                if args.json:
                    print(created.model_dump_json())
                else:
                    _print(created)
                    print(f"secret (shown once, store it now): {created.secret}")
            elif args.action == "list":
                found = await keystore.list_keys(conn, include_revoked=not args.active)
                for key in found:
                    print(key.model_dump_json() if args.json else _line(key))
            elif args.action == "revoke":
                _print(await keystore.revoke_key(conn, args.key_id, principal=principal))
            elif args.rate is None and not args.spend and not args.clear:
                _print(await keystore.get_key(conn, args.key_id))
            else:
                limits = KeyLimits(rate_limit=_rate(args), spending_limits=tuple(_spend(s) for s in args.spend))
                _print(await keystore.set_limits(conn, args.key_id, limits, principal=principal))
    except (ValidationError, ValueError) as exc:
        print(f"ledger keys: {_reason(exc)}", file=sys.stderr)
        return 2
    except keystore.KeyNotFound as exc:
        print(f"ledger keys: no key {exc}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    return 0


def _rate(args: argparse.Namespace) -> RateLimit | None:
    if args.rate is None and args.burst is None:
        return None
    if args.rate is None or args.burst is None:
        raise ValueError("--rate and --burst go together")
    return RateLimit(per_second=args.rate, burst=args.burst)


def _spend(text: str) -> SpendingLimit:
    currency, _, rest = text.partition(":")
    per_tx, _, per_day = rest.partition(":")
    return SpendingLimit(
        currency=currency,
        per_transaction_max=int(per_tx) if per_tx else None,
        per_day_max=int(per_day) if per_day else None,
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
    return str(exc)


def _line(key: KeyView) -> str:
    state = f"revoked {key.revoked_at:%Y-%m-%dT%H:%M:%S}" if key.revoked_at else "active"
    wallet = f" wallet={key.wallet_id}" if key.wallet_id else ""
    return f"{key.id}\t{key.prefix}\t{key.name}\t{','.join(key.scopes)}{wallet}\t{state}"


def _print(key: KeyView) -> None:
    print(_line(key))
    if key.rate_limit:
        print(f"  rate: {key.rate_limit.per_second}/s, burst {key.rate_limit.burst}")
    for s in key.spending_limits:
        print(f"  spend {s.currency}: per transaction {s.per_transaction_max}, per 24 h {s.per_day_max}")
