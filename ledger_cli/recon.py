"""``ledger recon source|import|run|breaks|explain|resolve``: reconciliation from the command line.

``source`` and ``import`` write straight to the database (a statement file of any size is streamed from
disk in bounded memory; the same bytes twice change nothing). ``run``, ``explain`` and ``resolve`` are
commands sent through the broker like any client's, under the principal ``cli:<os user>``, so they are
recorded, evented and answered exactly as over HTTP.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from contracts.commands import build_command
from contracts.errors import LedgerError
from contracts.recon import SourceConfig
from ledger_common.db import connect
from ledger_common.recon import queries
from ledger_common.recon.importer import define_source, import_statement
from ledger_common.settings import Settings

REPLY_TIMEOUT = 600.0  # a run of a million lines takes minutes


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recon = sub.add_parser("recon", help="reconcile bank and PSP statements against the ledger")
    action = recon.add_subparsers(dest="action", required=True)
    source = action.add_parser("source", help="declare a statement source from a JSON file (SourceConfig)")
    source.add_argument("name")
    source.add_argument("config", type=Path)
    imp = action.add_parser("import", help="import a statement file (CSV or JSON lines), once per content")
    imp.add_argument("source")
    imp.add_argument("file", type=Path)
    run = action.add_parser("run", help="reconcile a source (the recon.run command)")
    run.add_argument("source")
    run.add_argument("--dry-run", action="store_true")
    run.add_argument("--until", type=date.fromisoformat, help="only lines value-dated up to this day (YYYY-MM-DD)")
    breaks = action.add_parser("breaks", help="list breaks, oldest first")
    breaks.add_argument("--source")
    breaks.add_argument("--state", choices=["open", "explained", "resolved"])
    breaks.add_argument("--reason")
    breaks.add_argument("--limit", type=int, default=100)
    breaks.add_argument("--json", action="store_true")
    balances = action.add_parser("balances", help="statement closing balance against the ledger's, per day")
    balances.add_argument("source")
    explain = action.add_parser("explain", help="explain an open break (no money moves)")
    explain.add_argument("break_id", type=uuid.UUID)
    explain.add_argument("explanation")
    resolve = action.add_parser("resolve", help="resolve a break: dismissed, or with an adjusting transaction")
    resolve.add_argument("break_id", type=uuid.UUID)
    counter = resolve.add_mutually_exclusive_group()
    counter.add_argument("--counter-account", type=uuid.UUID, help="post the difference against this account")
    counter.add_argument("--counter-wallet", help="… or this wallet's account (@handle, ext:ref or id)")
    resolve.add_argument("--amount", type=int, help="minor units (default: the break's difference)")
    resolve.add_argument("--description")


def recon(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_recon(settings, args))
    except (LedgerError, OSError, ValueError) as exc:
        print(f"ledger recon {args.action}: {exc}", file=sys.stderr)
        return 1


async def _recon(settings: Settings, args: argparse.Namespace) -> int:
    if args.action in ("run", "explain", "resolve"):
        return await _command(settings, args)
    conn = await connect(settings.database_url.get_secret_value())
    try:
        if args.action == "source":
            config = SourceConfig.model_validate_json(args.config.read_text())
            await define_source(conn, args.name, config)
            print(f"source {args.name}: {config.format}, account {config.account_id} ({config.currency})")
        elif args.action == "import":
            done = await import_statement(conn, args.source, args.file)
            state = "imported" if done.created else "already imported: nothing changed"
            print(f"{args.file.name}: {done.lines} lines {state} (file {done.file_id})")
        elif args.action == "balances":
            found = await queries.balances(conn, args.source)
            if found is None:
                raise ValueError(f"no statement source {args.source!r}")
            for d in found["days"]:
                flag = "" if d["drift"] == 0 else "  DRIFT"
                print(
                    f"{d['day']}  statement {d['statement_balance']:>14}  ledger {d['ledger_balance']:>14}"
                    f"  drift {d['drift']:>12}{flag}"
                )
        else:
            rows = await queries.breaks(
                conn, source=args.source, state=args.state, reason=args.reason, limit=args.limit
            )
            print(json.dumps(rows, default=str, indent=2) if args.json else "\n".join(_line(r) for r in rows))
    finally:
        await conn.close()
    return 0


def _line(r: dict[str, Any]) -> str:
    days = r["age_seconds"] / 86400
    side = r["line"] or r["posting"] or {}
    ref = side.get("reference") or (side.get("metadata") or {}).get("reference", "")
    return (
        f"{r['break_id']}  {r['source']:<16} {r['reason']:<28} {r['state']:<9} {days:6.1f}d"
        f"  {r['amount']:>12} {ref} {r['detail']}"
    )


async def _command(settings: Settings, args: argparse.Namespace) -> int:
    from http_gateway.bus import CommandBus

    if args.action == "run":
        kind, payload = "recon.run", {"source": args.source, "dry_run": args.dry_run}
        if args.until is not None:
            payload["until"] = args.until.isoformat()
    elif args.action == "explain":
        kind, payload = "break.explain", {"break_id": str(args.break_id), "explanation": args.explanation}
    else:
        kind = "break.resolve"
        payload = {"break_id": str(args.break_id), "amount": args.amount, "description": args.description}
        payload |= {"counter_account_id": args.counter_account and str(args.counter_account)}
        payload |= {"counter_wallet": args.counter_wallet}
        payload = {k: v for k, v in payload.items() if v is not None}
    cmd = build_command(
        kind, payload, command_id=f"cli-{uuid.uuid4().hex}", issued_at=datetime.now(UTC), principal=_principal()
    )
    bus = CommandBus(settings, role="cli")
    await bus.start()
    try:
        result = await bus.send(cmd, timeout=REPLY_TIMEOUT)
    finally:
        await bus.close()
    if result is None:
        print(f"{cmd.command_id}: no reply yet; it is applied once a worker consumes it", file=sys.stderr)
        return 1
    print(result.model_dump_json(indent=2, exclude_defaults=True))
    return 0 if result.status == "applied" else 1


def _principal() -> str:
    return f"cli:{getpass.getuser()}"
