"""The invariants: what no attacker may change, checked against the database after each step, and what every
command must have got, checked at the end (docs/security.md, "Threat model")."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from contracts.ids import SYSTEM_ROLES, system_account_id, system_wallet_id, wallet_account_id
from ledger_common.dead_letters import commands as dead_commands
from tests.e2e.attacker.honest import Honest
from tests.e2e.attacker.world import BYSTANDER, HONEST, World

#: Postings since the run began on the protected accounts, with the principal of each one's transaction.
_POSTINGS = """
SELECT p.account_id::text AS account, p.amount, t.principal
FROM postings p JOIN transactions t ON t.id = p.transaction_id
WHERE p.account_id = ANY($1::uuid[]) AND p.id > $2
"""


async def protected(world: World, honest: Honest) -> None:
    """No money leaves the honest wallet or the bystander, and none of it is held, but by the honest caller's
    own flows: each protected account is what it was, plus the honest flows' moves, plus what others paid in."""
    owners = {a: world.honest.principal for a in world.wallets[HONEST].accounts.values()}
    owners |= {a: "" for a in world.wallets[BYSTANDER].accounts.values()}  # nobody acts for it after the setup
    paid_in = dict.fromkeys(owners, 0)
    for row in await world.pool.fetch(_POSTINGS, list(owners), world.mark):
        if row["principal"] != owners[row["account"]]:
            assert row["amount"] > 0, f"{row['principal']} took {-row['amount']} out of {row['account']}"
            paid_in[row["account"]] += row["amount"]
    rows = await world.pool.fetch(
        "SELECT id::text, balance, held FROM accounts WHERE id = ANY($1::uuid[])", list(owners)
    )
    for row in rows:
        balance, held = world.snapshot[row["id"]]
        if row["id"] == honest.account:
            balance, held = balance + honest.balance, held + honest.held
        expected = (balance + paid_in[row["id"]], held)
        assert (row["balance"], row["held"]) == expected, f"{row['id']}: (balance, held) {tuple(row)[1:]} != {expected}"


async def system_accounts(world: World) -> None:
    """Every registered currency's system accounts are system accounts of their role's system wallet, the ids
    of an unregistered currency's are nobody's, no customer account sits in a system wallet (nor the other
    way round), and the account a wallet gets in a currency is that wallet's."""
    registered = {r["code"] for r in await world.pool.fetch("SELECT code FROM currencies")}
    currencies = registered | {world.unregistered}
    roles = {system_account_id(c, role): (c, role) for c in currencies for role in SYSTEM_ROLES}
    found = {
        r["id"]: r for r in await world.pool.fetch("SELECT * FROM accounts WHERE id = ANY($1::uuid[])", list(roles))
    }
    for account, (currency, role) in roles.items():
        row = found.get(account)
        if currency in registered:
            assert row is not None, f"{currency} has no {role} account"
            assert (row["kind"], row["wallet_id"]) == ("system", system_wallet_id(role)), dict(row)
        else:
            assert row is None, f"{account}, the {role} account of unregistered {currency}, exists: {dict(row)}"
    system = [system_wallet_id(role) for role in SYSTEM_ROLES]
    misplaced = await world.pool.fetchval(
        "SELECT count(*) FROM accounts WHERE (kind = 'system') <> (wallet_id = ANY($1::uuid[]))", system
    )
    assert misplaced == 0, f"{misplaced} accounts whose kind is not their wallet's"
    derived = {wallet_account_id(UUID(w.id), c): UUID(w.id) for w in world.wallets.values() for c in currencies}
    rows = await world.pool.fetch("SELECT id, wallet_id FROM accounts WHERE id = ANY($1::uuid[])", list(derived))
    squatted = [dict(r) for r in rows if r["wallet_id"] != derived[r["id"]]]
    assert not squatted, f"accounts under another wallet's derived ids: {squatted}"


async def at_the_end(world: World, timeout: float = 60.0) -> None:
    """Every command the worker was given has its recorded outcome; no command was dead-lettered but the
    bodies the intake could not take (each by design, with its reason); no event was dead-lettered."""
    deadline = time.monotonic() + timeout
    wanted = world.given
    while True:
        rows = await world.pool.fetch(
            "SELECT principal, command_id FROM commands WHERE command_id = ANY($1::text[])", [c for _, c in wanted]
        )
        missing = wanted - {(r["principal"], r["command_id"]) for r in rows}
        dead = await dead_commands.count(world.amqp, world.procs.settings.topology.commands_dead_queue)
        if (not missing and dead >= len(world.undecodable)) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert not missing, f"{len(missing)} commands without an outcome, e.g. {sorted(missing)[:5]}"
    letters = await dead_commands.scan(world.procs.settings, detail=True)  # bodies long enough for their ids
    unexpected = [(d.reason, d.body[:80]) for d in letters if _command_id(d.body) not in world.undecodable]
    assert not unexpected, f"dead-lettered besides the bodies the intake refuses: {unexpected[:5]}"
    assert all(d.reason.startswith("invalid command") for d in letters), {d.reason for d in letters}
    assert len(letters) == len(world.undecodable), f"{len(letters)} dead letters of {len(world.undecodable)} refused"
    events = await world.pool.fetchval("SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL")
    assert events == 0, f"{events} dead-lettered events"


def _command_id(body: str) -> str:
    """The command id a dead letter's body starts with (the attack's envelope puts it first)."""
    head = body.partition('"command_id": "')[2] or body.partition('"command_id":"')[2]
    return head.partition('"')[0]
