"""``ledger dlq list | show ID | replay [ID... | --all] | purge [ID... | --all]``.

Two sources of dead letters, chosen with ``--source``:

- ``commands``: messages in the broker queue ``ledger.commands.dead``, dead-lettered by the worker
  (with ``x-ledger-dead-letter-reason``) or by RabbitMQ after the delivery limit (``x-death``).
  Listing consumes nothing; replay republishes to ``ledger.commands`` through the normal path, so
  a command already applied is not applied again.
- ``events``: outbox rows the relay gave up on (``dead_at``); replay puts them back in line with
  their original ``event_id``.

``list`` and ``show`` look at both sources by default; ``replay`` and ``purge`` change state and
need ``--source``. Dead events cannot be purged: an event is part of the ledger's record.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import aio_pika
import asyncpg

from ledger_cli.dead_letters import to_block, to_json, to_line
from ledger_common.dead_letters import commands as dead_commands
from ledger_common.dead_letters import events as dead_events
from ledger_common.dead_letters.model import DeadLetter, printable
from ledger_common.settings import Settings

SOURCES = ("commands", "events")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``ledger dlq`` and its actions."""
    dlq_parser = sub.add_parser("dlq", help="list, show, replay or purge dead-lettered commands and events")
    actions = dlq_parser.add_subparsers(dest="action", required=True)
    source = argparse.ArgumentParser(add_help=False)
    source.add_argument("--source", choices=SOURCES, help="commands (broker queue) or events (outbox)")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="machine-readable output")
    selection = argparse.ArgumentParser(add_help=False)
    selection.add_argument("ids", nargs="*", metavar="ID")
    selection.add_argument("--all", action="store_true", help="every dead letter of the source")
    actions.add_parser("list", parents=[source, as_json], help="every dead letter, with reason and attempts")
    show = actions.add_parser("show", parents=[source, as_json], help="one dead letter in full")
    show.add_argument("id", metavar="ID")
    replay = actions.add_parser("replay", parents=[source, selection], help="send dead letters through again")
    replay.add_argument("--force", action="store_true", help="replay commands that still do not decode")
    actions.add_parser("purge", parents=[source, selection], help="drop dead commands for good")


async def dlq(settings: Settings, args: argparse.Namespace) -> int:
    """Run one ``ledger dlq`` action; exit status 0 ok, 1 nothing matched, 2 usage or unreachable."""
    try:
        if args.action in ("list", "show"):
            return await _look(settings, args)
        if args.source is None:
            return _usage(f"{args.action} changes state: say which with --source commands|events")
        if bool(args.ids) == bool(args.all):
            return _usage(f"{args.action} takes IDs or --all (not both, not neither)")
        ids = None if args.all else list(args.ids)
        if args.action == "replay":
            return await (
                _replay_commands(settings, ids, args.force)
                if args.source == "commands"
                else _replay_events(settings, ids)
            )
        if args.source == "events":
            return _usage("dead events cannot be purged: an event is part of the ledger's record; replay it")
        return await _purge_commands(settings, ids)
    except (OSError, aio_pika.exceptions.AMQPError, asyncpg.PostgresError) as exc:
        print(f"ledger dlq: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def _usage(message: str) -> int:
    print(f"ledger dlq: {message}", file=sys.stderr)
    return 2


def _matcher(ids: list[str] | None) -> Callable[[str], bool]:
    return (lambda _: True) if ids is None else (lambda key: key in ids)


async def _letters(
    settings: Settings, sources: tuple[str, ...], ids: list[str] | None, detail: bool
) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    if "commands" in sources:
        select = _matcher(ids)
        letters += [d for d in await dead_commands.scan(settings, detail=detail) if select(d.id)]
    if "events" in sources:
        conn = await dead_events.connect(settings.database_url.get_secret_value())
        try:
            letters += await dead_events.find(conn, ids, detail=detail)
        finally:
            await conn.close()
    return letters


async def _look(settings: Settings, args: argparse.Namespace) -> int:
    sources = (args.source,) if args.source else SOURCES
    show = args.action == "show"
    letters = await _letters(settings, sources, [args.id] if show else None, detail=show)
    if args.json:
        print(to_json(letters))
    elif show and letters:
        print("\n\n".join(to_block(letter) for letter in letters))
    else:
        for letter in letters:
            print(to_line(letter))
        for source in sources:
            print(f"{sum(letter.source == source for letter in letters)} dead {source[:-1]}(s)")
    if show and not letters:
        print(f"no dead letter with id {printable(args.id)}", file=sys.stderr)
        return 1
    return 0


def _missing(ids: list[str] | None, found: list[str]) -> int:
    absent = sorted(set(ids or ()) - set(found))
    for key in absent:
        print(f"not found: {printable(key)}", file=sys.stderr)
    return 1 if absent else 0


async def _replay_commands(settings: Settings, ids: list[str] | None, force: bool) -> int:
    outcome = await dead_commands.replay(settings, _matcher(ids), force=force)
    for letter in outcome.done:
        print(f"replayed {printable(letter.id)} -> {printable(letter.routing_key)}")
    for letter, reason in outcome.skipped:
        print(f"skipped {printable(letter.id)}: still undecodable ({printable(reason)}); --force replays it anyway")
    print(f"replayed {len(outcome.done)} command(s), skipped {len(outcome.skipped)}")
    seen = [d.id for d in outcome.done] + [d.id for d, _ in outcome.skipped]
    return _missing(ids, seen)


async def _replay_events(settings: Settings, ids: list[str] | None) -> int:
    conn = await dead_events.connect(settings.database_url.get_secret_value())
    try:
        letters = await dead_events.find(conn, ids)
        replayed = await dead_events.replay(conn, ids)
    finally:
        await conn.close()
    print(f"replayed {len(replayed)} event(s)" + (f": {' '.join(replayed)}" if replayed else ""))
    found = [d.id for d in letters] + [str(d.extra["event_id"]) for d in letters]
    return _missing(ids, found)


async def _purge_commands(settings: Settings, ids: list[str] | None) -> int:
    outcome = await dead_commands.purge(settings, _matcher(ids))
    for letter in outcome.done:
        print(f"purged {printable(letter.id)} ({printable(letter.reason)})")
    print(f"purged {len(outcome.done)} command(s)")
    return _missing(ids, [d.id for d in outcome.done])


async def outbox_alias(settings: Settings, args: argparse.Namespace) -> int:
    """``ledger outbox dead|replay [ID...]``, kept for existing scripts: the events side of ``dlq``."""
    if args.action == "dead":
        ns = argparse.Namespace(action="list", source="events", json=False)
    else:
        ids = [str(i) for i in args.ids]
        ns = argparse.Namespace(action="replay", source="events", ids=ids, all=not ids, force=False)
    return await dlq(settings, ns)
