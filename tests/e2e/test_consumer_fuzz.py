"""Fuzz the command consumer on real processes: malformed bodies interleaved with valid commands.

Every malformed message must end in ``ledger.commands.dead`` exactly once with a reason, every
valid command must be applied, and the worker must still be serving. The cases come from a seeded
generator (``FUZZ_SEED`` to reproduce or vary a run), so a failure names its case and is repeatable.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from ledger_common.settings import Settings
from tests.e2e.conftest import wait_until
from tests.e2e.test_pipeline import open_account

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("FUZZ_SEED", "20261125"))
MALFORMED_PER_KIND = 18
VALID_CASES = 60


@dataclass(frozen=True)
class Case:
    kind: str
    body: bytes
    content_type: str | None
    routing_key: str
    valid: bool


class Generator:
    """Commands, valid and broken in every way we know of, from one seeded ``random.Random``."""

    def __init__(self, rng: random.Random, run: str, account: str) -> None:
        self.rng, self.run, self.account, self.n = rng, run, account, 0

    def next_id(self) -> str:
        self.n += 1
        return f"{self.run}-{self.n:04d}"

    def command(self, command_id: str) -> dict[str, Any]:
        if self.rng.random() < 0.5:
            return {
                "command_id": command_id,
                "type": "account.open",
                "issued_at": datetime.now(UTC).isoformat(),
                "payload": {"currency": self.rng.choice(["USD", "EUR", "JPY"])},
            }
        return {
            "command_id": command_id,
            "type": "deposit",
            "schema_version": 1,
            "issued_at": datetime.now(UTC).isoformat(),
            "payload": {"account_id": self.account, "amount": self.rng.randint(1, 10_000), "currency": "USD"},
        }

    def deposit(self, command_id: str) -> dict[str, Any]:
        doc = self.command(command_id)
        while doc["type"] != "deposit":
            doc = self.command(command_id)
        return doc

    # Each mutation returns (body, content_type) for a message that must not become a command.
    def random_bytes(self, cid: str) -> tuple[bytes, str | None]:
        return self.rng.randbytes(self.rng.randint(1, 300)), None

    def invalid_utf8(self, cid: str) -> tuple[bytes, str | None]:
        body = json.dumps(self.command(cid)).encode()
        cut = self.rng.randint(0, len(body))
        return body[:cut] + self.rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80"]) + body[
            cut:
        ], None

    def truncated(self, cid: str) -> tuple[bytes, str | None]:
        body = json.dumps(self.command(cid)).encode()
        return body[: self.rng.randint(1, len(body) - 1)], "application/json"

    def wrong_type(self, cid: str) -> tuple[bytes, str | None]:
        doc = self.command(cid)
        field = self.rng.choice(["command_id", "type", "issued_at", "payload", "reply_to", "principal"])
        doc[field] = self.rng.choice([None, True, [], {}, 12, 1.5, [1, 2]] if field != "issued_at" else [True, [], {}])
        if field in ("reply_to", "principal") and doc[field] is None:
            doc[field] = ["x"]
        return json.dumps(doc).encode(), None

    def unknown_type(self, cid: str) -> tuple[bytes, str | None]:
        doc = self.command(cid)
        doc["type"] = self.rng.choice(["teleport", "refund", "DEPOSIT", "deposit ", "", "account.close"])
        return json.dumps(doc).encode(), None

    def unknown_version(self, cid: str) -> tuple[bytes, str | None]:
        doc = self.command(cid)
        doc["schema_version"] = self.rng.choice([0, 2, 99, -1, "1", 1.5, None, 2**70])
        return json.dumps(doc).encode(), None

    def extra_field(self, cid: str) -> tuple[bytes, str | None]:
        doc = self.command(cid)
        target = doc if self.rng.random() < 0.5 else doc["payload"]
        target[self.rng.choice(["extra", "amount_minor", "__proto__", "x" * 200])] = self.rng.choice([1, "x", None])
        return json.dumps(doc).encode(), None

    def bad_amount(self, cid: str) -> tuple[bytes, str | None]:
        doc = self.deposit(cid)
        doc["payload"]["amount"] = self.rng.choice([1.5, 1.0, "100", -5, 0, 10**38, 2**128, 10**40, True, None, 1e3])
        return json.dumps(doc).encode(), None

    def wrong_content_type(self, cid: str) -> tuple[bytes, str | None]:
        kinds = ["text/plain", "application/xml", "application/octet-stream", "application/json; charset=latin-1"]
        return json.dumps(self.command(cid)).encode(), self.rng.choice(kinds)

    def duplicate_key(self, cid: str) -> tuple[bytes, str | None]:
        body = json.dumps(self.deposit(cid))
        field = self.rng.choice(['"amount": ', '"account_id": ', '"command_id": '])
        at = body.index(field)
        end = body.index(",", at)
        return (body[:end] + ", " + body[at:end] + body[end:]).encode(), None

    def not_an_object(self, cid: str) -> tuple[bytes, str | None]:
        return self.rng.choice([b"[]", b'"deposit"', b"42", b"null", b"true", b"{}", b" ", b"NaN"]), None

    def nul_or_surrogate(self, cid: str) -> tuple[bytes, str | None]:
        doc = self.command(cid)
        doc[self.rng.choice(["principal", "reply_to", "correlation_id"])] = self.rng.choice(
            ["a\x00b", "\ud800", "\udfff"]
        )
        return json.dumps(doc).encode(), None

    def cases(self) -> Iterator[Case]:
        mutations: list[Callable[[str], tuple[bytes, str | None]]] = [
            self.random_bytes,
            self.invalid_utf8,
            self.truncated,
            self.wrong_type,
            self.unknown_type,
            self.unknown_version,
            self.extra_field,
            self.bad_amount,
            self.wrong_content_type,
            self.duplicate_key,
            self.not_an_object,
            self.nul_or_surrogate,
        ]
        for mutate in mutations:
            for _ in range(MALFORMED_PER_KIND):
                body, content_type = mutate(self.next_id())
                yield Case(mutate.__name__, body, content_type, self._key(), valid=False)
        yield Case("empty", b"", None, "deposit", valid=False)
        yield Case("deep", b"[" * 10_000 + b"]" * 10_000, "application/json", "deposit", valid=False)
        padded = json.dumps(self.deposit(self.next_id())).encode()
        yield Case("5MB", padded[:-1] + b" " * (5 * 1024 * 1024) + b"}", None, "deposit", valid=False)
        for _ in range(VALID_CASES):
            doc = self.command(self.next_id())
            yield Case(
                "valid", json.dumps(doc).encode(), self.rng.choice([None, "application/json"]), doc["type"], True
            )

    def _key(self) -> str:
        return self.rng.choice(["deposit", "transfer", "account.open", "x", ""])


async def _publish(amqp: AbstractRobustConnection, settings: Settings, cases: list[tuple[str, Case]]) -> None:
    channel = await amqp.channel(publisher_confirms=True)
    exchange, _ = await settings.topology.declare_commands(channel)
    for message_id, case in cases:
        message = aio_pika.Message(
            case.body,
            content_type=case.content_type,
            message_id=message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            user_id=settings.amqp_user,
        )
        await exchange.publish(message, routing_key=case.routing_key)
    await channel.close()


async def _collect_dead(
    amqp: AbstractRobustConnection, settings: Settings, expected: set[str], run: str
) -> dict[str, list[str]]:
    """Take this run's dead letters (acking them), leave anyone else's; return reasons per message id."""
    reasons: dict[str, list[str]] = {}
    channel = await amqp.channel()
    queue = await channel.get_queue(settings.topology.commands_dead_queue)
    others: list[AbstractIncomingMessage] = []
    deadline = asyncio.get_running_loop().time() + 60
    while not expected <= set(reasons) and asyncio.get_running_loop().time() < deadline:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            await asyncio.sleep(0.1)
            continue
        if not (message.message_id or "").startswith(run):
            others.append(message)  # not ours: returned to the queue when the channel closes
            continue
        reasons.setdefault(message.message_id or "", []).append(
            str((message.headers or {}).get(DEAD_LETTER_REASON_HEADER, ""))
        )
        await message.ack()
    await channel.close()
    return reasons


async def test_consumer_dead_letters_every_malformed_message_once_and_applies_every_valid_one(
    amqp: AbstractRobustConnection, system: Processes, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    settings = system.settings
    account = await open_account(client)
    run = f"fz{uuid.uuid4().hex[:8]}"
    cases = list(Generator(random.Random(SEED), run, account).cases())
    random.Random(SEED).shuffle(cases)
    numbered = [(f"{run}-m{i:04d}", case) for i, case in enumerate(cases)]
    malformed = {mid: case for mid, case in numbered if not case.valid}
    valid_ids = [json.loads(case.body)["command_id"] for _, case in numbered if case.valid]

    await _publish(amqp, settings, numbered)
    reasons = await _collect_dead(amqp, settings, set(malformed), run)

    missing = {mid: (malformed[mid].kind, malformed[mid].body[:80]) for mid in set(malformed) - set(reasons)}
    assert not missing, f"seed {SEED}: not dead-lettered: {missing}"
    assert not set(reasons) - set(malformed), (
        f"seed {SEED}: valid commands dead-lettered: {set(reasons) - set(malformed)}"
    )
    twice = {mid: len(r) for mid, r in reasons.items() if len(r) != 1}
    assert not twice, f"seed {SEED}: dead-lettered more than once: {twice}"
    assert all(r[0] for r in reasons.values()), "every dead letter carries a reason"

    async def all_applied() -> bool:
        rows = await pool.fetch(
            "SELECT result->>'status' AS status FROM commands WHERE command_id = ANY($1)", valid_ids
        )
        return len(rows) == len(valid_ids)

    await wait_until(all_applied)
    statuses = await pool.fetch(
        "SELECT result->>'status' AS status FROM commands WHERE command_id = ANY($1)", valid_ids
    )
    assert {r["status"] for r in statuses} == {"applied"}
    deposits = [json.loads(c.body) for c in cases if c.valid and json.loads(c.body)["type"] == "deposit"]
    balance = (await client.get(f"/v1/accounts/{account}")).json()["balance"]
    assert balance == sum(d["payload"]["amount"] for d in deposits)

    assert system.procs["worker"].poll() is None, "the worker survived"
    assert "not settled" not in system.log("worker"), "every message was settled"
    await open_account(client)  # and still serves
