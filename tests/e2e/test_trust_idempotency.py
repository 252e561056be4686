"""Idempotency per caller (docs/security.md): each caller's command ids are its own, the ledger's own
namespaces (``expire:``, ``seed:``, ``system:``) are closed to callers, the sweeper cannot be wedged by
anyone, a taken id is a refusal (never a dead letter), and a retry gets the first answer byte for byte.
Each test would have failed before b44486f; its comment says what happened then."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.ids import object_id
from ledger_cli.processes import Processes
from ledger_common.db import connect
from ledger_common.settings import Settings
from tests.e2e.access import make_key
from tests.e2e.api import new_wallet, write
from tests.e2e.conftest import wait_until
from tests.e2e.trust import Publisher, as_key

pytestmark = pytest.mark.e2e

SWEEPER = "system:sweeper"
#: The sweeper's advisory lock (ledger_worker/sweeper.py): held by a test, no sweep runs meanwhile.
SWEEP_LOCK = (7362, 1)
#: The id the sweeper gives the expiry of hold ``t`` (docs/security.md: ``expire:hold:<id>:<expiry instant>``).
EXPIRY_ID = "'expire:hold:' || t.id || ':' || to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS.US')"


def _headers(key: dict[str, Any] | None, idempotency_key: str) -> dict[str, str]:
    auth = {} if key is None else {"Authorization": f"Bearer {key['secret']}"}
    return {**auth, "Idempotency-Key": idempotency_key}


async def test_reserved_idempotency_keys_are_refused_at_the_gateway(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Before b44486f any Idempotency-Key was taken: `expire:hold:<id>` was the sweeper's own command id,
    # so a caller sending it first (here a release, or any command at all) recorded an outcome the
    # sweeper then got back as a replay or an idempotency_conflict, forever.
    w = await new_wallet(client, funded=1_000)
    hold = (await write(client, "POST", "/v1/holds", {"account_id": w.usd, "amount": 10, "currency": "USD"}))["hold_id"]
    agent = await make_key(client, ["holds", "deposit"], wallet_id=w.id, name="agent")
    for key in (None, agent):  # the service key too: the prefixes are the ledger's, not a scope's
        for reserved in (f"expire:hold:{hold}", f"expire:hold:{hold}:20260101T000000.000000", "seed:x", "system:y"):
            r = await client.post(f"/v1/holds/{hold}/release", headers=_headers(key, reserved))
            assert (r.status_code, r.json()["code"]) == (400, "reserved_idempotency_key"), r.text
            r = await client.post(
                "/v1/deposits",
                json={"account_id": w.usd, "amount": 1, "currency": "USD"},
                headers=_headers(key, reserved),
            )
            assert (r.status_code, r.json()["code"]) == (400, "reserved_idempotency_key"), r.text
    assert await pool.fetchval("SELECT status FROM holds WHERE id = $1", uuid.UUID(hold)) == "pending"
    assert not await pool.fetchval(
        "SELECT count(*) FROM commands WHERE command_id LIKE 'expire:hold:' || $1 || '%'", hold
    ), "a reserved id was recorded"


async def test_holds_expire_whatever_callers_send_and_a_refused_expiry_stops_nothing(
    system: Processes, settings: Settings, pool: asyncpg.Pool, amqp: AbstractRobustConnection, client: httpx.AsyncClient
) -> None:
    # Before b44486f the sweeper's command id was `expire:hold:<id>`, keyed by nothing else: a caller
    # that recorded a command under it first (over AMQP, or HTTP) got it refused idempotency_conflict
    # forever; such a hold stayed pending and due, and the sweep took the first 200 due holds each round,
    # so 200 of them wedged every expiry behind them. A refused expiry was likewise retried forever.
    w = await new_wallet(client, funded=100_000)
    publisher = await Publisher(amqp, settings).start()  # amqp:<broker user>, a publisher with every scope
    placed = await publisher.send_all(
        [
            (
                "hold.place",
                {"account_id": w.usd, "amount": 1, "currency": "USD", "expires_in_seconds": 3600},
                uuid.uuid4().hex,
            )
            for _ in range(201)
        ],
        timeout=120,
    )
    assert {r.status for r in placed} == {"applied"}, {r.refusal for r in placed}
    holds = [r.hold_id for r in placed[:200]]
    late = placed[200].hold_id  # the one whose expiry will be refused
    assert late is not None
    lock = await connect(settings.database_url.get_secret_value())
    blocker = await connect(settings.database_url.get_secret_value())
    try:
        await lock.execute("SELECT pg_advisory_lock($1, $2)", *SWEEP_LOCK)  # no sweep until we say
        await lock.execute("UPDATE holds SET expires_at = now() - interval '1 s' WHERE id = ANY($1::uuid[])", holds)
        await lock.execute("UPDATE holds SET expires_at = now() - interval '10 s' WHERE id = $1", late)
        ids = dict(await lock.fetch(f"SELECT t.id, {EXPIRY_ID} FROM holds t WHERE t.id = ANY($1::uuid[])", holds))
        late_id = await lock.fetchval(f"SELECT {EXPIRY_ID} FROM holds t WHERE t.id = $1", late)

        # Every caller tries to take the sweeper's ids first: over AMQP, as its own publisher (the exact
        # id and the old one) and as the gateway speaking for a key; over HTTP (400 at the gateway).
        key = await make_key(client, ["holds", "deposit", "transfer"], name="pre-emptor")
        attempts = [("deposit", {"account_id": w.usd, "amount": 1, "currency": "USD"}, ids[h]) for h in holds]
        attempts += [("hold.release", {"hold_id": str(h)}, f"expire:hold:{h}") for h in holds]
        attempts += [("hold.release", {"hold_id": str(late)}, late_id)]
        refused = await publisher.send_all(attempts, timeout=120)
        claimed = [
            await publisher.send("hold.release", {"hold_id": str(h)}, command_id=ids[h], principal=f"key:{key['id']}")
            for h in holds[:5]
        ]
        assert {(r.status, r.refusal) for r in refused + claimed} == {("refused", "reserved_command_id")}
        for h in holds[:5]:
            r = await client.post(f"/v1/holds/{h}/release", headers=_headers(key, ids[h]))
            assert (r.status_code, r.json()["code"]) == (400, "reserved_idempotency_key"), r.text

        # One expiry is refused: the sweep selects the late hold (due), and before its batch can lock
        # it, the hold's expiry moves an hour on (as an increment with a new expiry would move it).
        async with blocker.transaction():
            await blocker.execute("SELECT 1 FROM holds WHERE id = $1 FOR UPDATE", late)
            await lock.execute("SELECT pg_advisory_unlock($1, $2)", *SWEEP_LOCK)
            await _wait_for_lock_waiter(blocker)
            await blocker.execute("UPDATE holds SET expires_at = now() + interval '1 hour' WHERE id = $1", late)
    finally:
        await lock.close()
        await blocker.close()

    async def expired() -> bool:
        n = await pool.fetchval("SELECT count(*) FROM holds WHERE id = ANY($1::uuid[]) AND status = 'expired'", holds)
        return bool(n == len(holds))

    await wait_until(expired, timeout=30)
    swept = await pool.fetch(
        "SELECT command_id, result->>'status' AS status FROM commands WHERE principal = $1 AND command_id = ANY($2)",
        SWEEPER,
        list(ids.values()),
    )
    assert {r["command_id"] for r in swept} == set(ids.values()) and {r["status"] for r in swept} == {"applied"}
    refusal = await pool.fetchrow(
        "SELECT result->>'status' AS status, result->>'refusal' AS refusal FROM commands"
        " WHERE principal = $1 AND command_id = $2",
        SWEEPER,
        late_id,
    )
    assert refusal is not None and tuple(refusal) == ("refused", "hold_not_expired")
    assert await pool.fetchval("SELECT status FROM holds WHERE id = $1", late) == "pending"
    # Moved due again, the late hold's expiry is a new instant, so a new id: the refusal blocks nothing.
    await pool.execute("UPDATE holds SET expires_at = now() - interval '1 s' WHERE id = $1", late)
    await wait_until(lambda: _status_is(pool, late, "expired"), timeout=30)
    balance = await pool.fetchrow("SELECT balance, held FROM accounts WHERE id = $1", uuid.UUID(w.usd))
    assert tuple(balance) == (100_000, 0)  # every pre-emption was refused: no deposit, nothing held
    await publisher.close()


async def _status_is(pool: asyncpg.Pool, hold: uuid.UUID, status: str) -> bool:
    return bool(await pool.fetchval("SELECT status FROM holds WHERE id = $1", hold) == status)


async def _wait_for_lock_waiter(conn: asyncpg.Connection, timeout: float = 20.0) -> None:
    """Until a backend of this database waits on a row lock held by ``conn``'s transaction."""
    deadline = time.monotonic() + timeout
    while not await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND $1 = ANY(pg_blocking_pids(pid))",
        await conn.fetchval("SELECT pg_backend_pid()"),
    ):
        if time.monotonic() > deadline:
            raise AssertionError("the sweep never reached the locked hold")
        await asyncio.sleep(0.05)


async def test_two_callers_with_the_same_idempotency_key_send_two_commands(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Before b44486f commands were keyed by the Idempotency-Key alone: the second caller got the first
    # caller's recorded result back as its own (a replay: no money moved, someone else's transaction id;
    # with another payload, idempotency_conflict), GET /v1/commands/{key} showed it to anyone with `read`,
    # and derived ids (a hold placed without hold_id) were the same for both.
    w = await new_wallet(client)
    a = await make_key(client, ["deposit", "read", "holds"], name="caller a")
    b = await make_key(client, ["deposit", "read", "holds"], name="caller b")
    stranger = await make_key(client, ["read"], name="third")
    key = f"order-{uuid.uuid4().hex}"
    body = {"account_id": w.usd, "amount": 100, "currency": "USD"}
    first = await client.post("/v1/deposits", json=body, headers=_headers(a, key))
    second = await client.post("/v1/deposits", json=body, headers=_headers(b, key))
    for r in (first, second):
        assert r.status_code == 200 and r.headers["Idempotent-Replayed"] == "false", r.text
    assert first.json()["transaction_id"] != second.json()["transaction_id"]
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", uuid.UUID(w.usd)) == 200
    for caller, mine in ((a, first), (b, second)):
        seen = await client.get(f"/v1/commands/{key}", headers={"Authorization": f"Bearer {caller['secret']}"})
        assert seen.status_code == 200 and seen.json()["transaction_id"] == mine.json()["transaction_id"], seen.text
    for other in (stranger, None):  # a third key, and the service key, sent no command `key`
        r = await client.get(f"/v1/commands/{key}", headers=_headers(other, "unused"))
        assert (r.status_code, r.json()["code"]) == (404, "command_not_found"), r.text
    again = await client.post("/v1/deposits", json=body, headers=_headers(a, key))
    assert again.headers["Idempotent-Replayed"] == "true" and again.content == first.content
    # Another payload under a key the other caller used is simply another command of its own.
    used = f"order-{uuid.uuid4().hex}"
    mine = await client.post("/v1/deposits", json=body, headers=_headers(a, used))
    theirs = await client.post("/v1/deposits", json={**body, "amount": 5}, headers=_headers(b, used))
    assert (mine.status_code, theirs.status_code) == (200, 200), theirs.text  # not idempotency_conflict
    assert await pool.fetchval("SELECT balance FROM accounts WHERE id = $1", uuid.UUID(w.usd)) == 305
    shared = f"hold-{uuid.uuid4().hex}"
    hold = {"account_id": w.usd, "amount": 10, "currency": "USD"}
    ha = await client.post("/v1/holds", json=hold, headers=_headers(a, shared))
    hb = await client.post("/v1/holds", json={**hold, "amount": 20}, headers=_headers(b, shared))
    assert ha.status_code == 201 and hb.status_code == 201, (ha.text, hb.text)
    assert ha.json()["hold_id"] == str(object_id("hold", principal=f"key:{a['id']}", command_id=shared))
    assert hb.json()["hold_id"] == str(object_id("hold", principal=f"key:{b['id']}", command_id=shared))
    assert ha.json()["hold_id"] != hb.json()["hold_id"]


async def test_a_derived_hold_id_cannot_be_taken_and_a_taken_chosen_one_is_hold_exists(
    system: Processes, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Before b44486f a derived hold id came from the bare Idempotency-Key (derived_id("hold", key)), the
    # same for every caller; after it, another caller could still name the hold id the victim's next
    # command would derive and take it first (the victim's intent.pay and hold.place then failed
    # hold_exists). Derived ids are version-5 UUIDs now, which no caller may choose: reserved_id.
    payer, merchant = await new_wallet(client, funded=10_000), await new_wallet(client, kind="merchant")
    squatter = await make_key(client, ["holds"], name="squatter")
    victim = await make_key(client, ["holds", "transfer"], wallet_id=payer.id, name="victim")
    victim_principal = f"key:{victim['id']}"
    pay_key, place_key, later_key = (f"k-{uuid.uuid4().hex}" for _ in range(3))
    for victims_key in (pay_key, place_key):
        hold_id = str(object_id("hold", principal=victim_principal, command_id=victims_key))
        r = await client.post(
            "/v1/holds",
            json={"account_id": payer.usd, "amount": 1, "currency": "USD", "hold_id": hold_id},
            headers=as_key(squatter),
        )
        assert (r.status_code, r.json()["code"]) == (422, "reserved_id"), r.text
    before = await pool.fetchrow("SELECT balance, held FROM accounts WHERE id = $1", uuid.UUID(payer.usd))
    intent = (
        await write(
            client,
            "POST",
            "/v1/payment_intents",
            {"merchant_wallet": merchant.handle, "amount": 300, "currency": "USD"},
        )
    )["intent_id"]
    paid = await client.post(
        f"/v1/payment_intents/{intent}/pay",
        json={"payer_wallet": payer.handle, "via_hold": True},
        headers=_headers(victim, pay_key),
    )
    assert paid.status_code == 200, paid.text
    placed = await client.post(
        "/v1/holds", json={"account_id": payer.usd, "amount": 2, "currency": "USD"}, headers=_headers(victim, place_key)
    )
    assert placed.status_code == 201, placed.text
    # A random id the victim chose, taken first by the squatter's own hold: the victim's is refused, recorded.
    chosen = str(uuid.uuid4())
    first = await client.post(
        "/v1/holds",
        json={"account_id": payer.usd, "amount": 4, "currency": "USD", "hold_id": chosen},
        headers=as_key(squatter),
    )
    assert first.status_code == 201, first.text
    taken = await client.post(
        "/v1/holds",
        json={"account_id": payer.usd, "amount": 3, "currency": "USD", "hold_id": chosen},
        headers=_headers(victim, later_key),
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "hold_exists"), taken.text
    after = await pool.fetchrow("SELECT balance, held FROM accounts WHERE id = $1", uuid.UUID(payer.usd))
    assert (after["balance"], after["held"]) == (before["balance"], before["held"] + 300 + 2 + 4)
    assert await pool.fetchval("SELECT status FROM payment_intents WHERE id = $1", uuid.UUID(intent)) == "authorized"
    dead = await asyncio.to_thread(system.cli, "dlq", "list", "--source", "commands", "--json")
    for k in (pay_key, place_key, later_key):
        assert k not in dead, f"{k} was dead-lettered"


async def test_a_retry_gets_the_first_answer_byte_for_byte(client: httpx.AsyncClient) -> None:
    # Before b44486f a replayed 201 (a creation) answered 200, and the body said "replayed": true where
    # the first had false: a client comparing answers, or switching on the status, saw two outcomes.
    w = await new_wallet(client, funded=1_000)
    mover = await make_key(client, ["transfer"], name="transfer only")
    writes: list[tuple[str, dict[str, Any], dict[str, Any] | None, int, str | None]] = [
        ("/v1/wallets", {"owner_id": uuid.uuid4().hex, "currencies": ["USD"]}, None, 201, None),
        ("/v1/holds", {"account_id": w.usd, "amount": 5, "currency": "USD"}, None, 201, None),
        ("/v1/deposits", {"account_id": w.usd, "amount": 5, "currency": "USD"}, None, 200, None),
        ("/v1/spends", {"account_id": w.usd, "amount": 10**9, "currency": "USD"}, None, 422, "insufficient_funds"),
        (
            "/v1/transfers",
            {"debit_wallet": "@treasury", "credit_account_id": w.usd, "amount": 5, "currency": "USD"},
            mover,
            403,
            "forbidden_party",
        ),
    ]
    for path, body, key, status, code in writes:
        idempotency_key = uuid.uuid4().hex
        r1 = await client.post(path, json=body, headers=_headers(key, idempotency_key))
        r2 = await client.post(path, json=body, headers=_headers(key, idempotency_key))
        assert (r1.status_code, r2.status_code) == (status, status), (path, r1.text, r2.text)
        assert r1.json().get("code") == code, r1.text
        assert r1.content == r2.content, (path, r1.text, r2.text)
        assert (r1.headers["Idempotent-Replayed"], r2.headers["Idempotent-Replayed"]) == ("false", "true"), path
        assert r1.headers["content-type"] == r2.headers["content-type"]
        assert b"replayed" not in r1.content
