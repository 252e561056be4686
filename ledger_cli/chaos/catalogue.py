"""What the chaos load sends: one :class:`Kind` per kind of command, and the malformed messages.

To load a new command type, add a maker and a :class:`Kind` to :data:`MOVEMENTS` (and its effects to
:mod:`ledger_cli.chaos.expectations`). A maker returns a :class:`Spec`: the command type, its payload
exactly as both the AMQP envelope and the HTTP body carry it, and the refusal it is certain to get
(if the plan makes one certain, e.g. an overdraft far beyond every deposit of the run).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

#: Currencies of the run's own accounts; the second one makes cross-currency refusals possible.
CURRENCIES = ("USD", "EUR")  # the run has a database of its own: nothing else is in it
MAX_DEPOSIT = 10_000
MAX_MOVE = 6_000
#: Larger than all the money a run can ever deposit: an overdraft of this size is always refused.
OVERDRAFT = 10**15

#: HTTP route of each command type (the body is the command's payload).
HTTP_PATHS = {
    "account.open": "/v1/accounts",
    "deposit": "/v1/deposits",
    "withdraw": "/v1/withdrawals",
    "transfer": "/v1/transfers",
}


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    currency: str


@dataclass(frozen=True)
class World:
    """The run's accounts, opened before any movement is sent."""

    accounts: tuple[Account, ...]

    def pick(self, rng: random.Random, currency: str | None = None) -> Account:
        pool = [a for a in self.accounts if currency is None or a.currency == currency]
        return rng.choice(pool)

    def pair(self, rng: random.Random) -> tuple[Account, Account]:
        """Two distinct accounts of one currency."""
        first = self.pick(rng)
        second = self.pick(rng, first.currency)
        while second == first:
            second = self.pick(rng, first.currency)
        return first, second


@dataclass(frozen=True)
class Spec:
    """One valid command: its type and payload, and a refusal the plan makes certain (or None)."""

    command_type: str
    payload: dict[str, Any]
    certain_refusal: str | None = None

    @property
    def http_path(self) -> str:
        return HTTP_PATHS[self.command_type]


Maker = Callable[[random.Random, World], Spec]


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    make: Maker


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def make_world(rng: random.Random, count: int) -> World:
    """``count`` accounts, four in five in the first currency and at least two in each."""
    second = max(2, count // 5)
    currencies = [CURRENCIES[0]] * (count - second) + [CURRENCIES[1]] * second
    return World(tuple(Account(_uuid(rng), c) for c in currencies))


def open_account(account: Account) -> Spec:
    return Spec("account.open", {"account_id": str(account.id), "currency": account.currency})


def _money(account: Account, amount: int) -> dict[str, Any]:
    return {"account_id": str(account.id), "amount": amount, "currency": account.currency}


def _move(debit: Account, credit: Account, amount: int, currency: str) -> dict[str, Any]:
    return {
        "debit_account_id": str(debit.id),
        "credit_account_id": str(credit.id),
        "amount": amount,
        "currency": currency,
    }


def _deposit(rng: random.Random, w: World) -> Spec:
    return Spec("deposit", _money(w.pick(rng), rng.randint(1, MAX_DEPOSIT)))


def _withdraw(rng: random.Random, w: World) -> Spec:
    return Spec("withdraw", _money(w.pick(rng), rng.randint(1, MAX_MOVE)))


def _transfer(rng: random.Random, w: World) -> Spec:
    debit, credit = w.pair(rng)
    return Spec("transfer", _move(debit, credit, rng.randint(1, MAX_MOVE), debit.currency))


def _withdraw_overdraft(rng: random.Random, w: World) -> Spec:
    return Spec("withdraw", _money(w.pick(rng), OVERDRAFT), "insufficient_funds")


def _transfer_overdraft(rng: random.Random, w: World) -> Spec:
    debit, credit = w.pair(rng)
    return Spec("transfer", _move(debit, credit, OVERDRAFT, debit.currency), "insufficient_funds")


def _transfer_cross_currency(rng: random.Random, w: World) -> Spec:
    debit = w.pick(rng, CURRENCIES[0])
    credit = w.pick(rng, CURRENCIES[1])
    return Spec("transfer", _move(debit, credit, rng.randint(1, MAX_MOVE), debit.currency), "currency_mismatch")


def _deposit_unknown_account(rng: random.Random, _: World) -> Spec:
    return Spec("deposit", _money(Account(_uuid(rng), CURRENCIES[0]), 1), "account_not_found")


def _reopen(rng: random.Random, w: World) -> Spec:
    spec = open_account(w.pick(rng))
    return Spec(spec.command_type, spec.payload, "account_exists")


#: The mix of the main phase (after every account is open). Weights are relative.
MOVEMENTS: tuple[Kind, ...] = (
    Kind("deposit", 30, _deposit),
    Kind("withdraw", 14, _withdraw),
    Kind("transfer", 40, _transfer),
    Kind("withdraw_overdraft", 3, _withdraw_overdraft),
    Kind("transfer_overdraft", 3, _transfer_overdraft),
    Kind("transfer_cross_currency", 2, _transfer_cross_currency),
    Kind("deposit_unknown_account", 2, _deposit_unknown_account),
    Kind("reopen_account", 2, _reopen),
)


def pick_kind(rng: random.Random) -> Kind:
    return rng.choices(MOVEMENTS, weights=[k.weight for k in MOVEMENTS])[0]


# --- malformed input: AMQP bodies the worker must dead-letter, HTTP requests the gateway must refuse


def _envelope(command_id: str, kind: str, payload: object, **extra: object) -> bytes:
    body = {"command_id": command_id, "type": kind, "issued_at": "2026-01-01T00:00:00Z", "payload": payload}
    return orjson.dumps({**body, **extra})


def _amqp_cases(command_id: str, account: Account) -> dict[str, bytes]:
    money = _money(account, 100)
    return {
        "not_json": b"{this is not json",
        "invalid_utf8": b'{"command_id": "\xff\xfe"}',
        "unknown_type": _envelope(command_id, "teleport", money),
        "float_amount": _envelope(command_id, "deposit", {**money, "amount": 1.5}),
        "extra_field": _envelope(command_id, "deposit", money, surprise=True),
        "missing_payload": _envelope(command_id, "deposit", None),
        "future_schema": _envelope(command_id, "deposit", money, schema_version=99),
    }


AMQP_MALFORMED = tuple(_amqp_cases("x", Account(uuid.UUID(int=0), CURRENCIES[0])))


def amqp_malformed(case: str, command_id: str, account: Account) -> bytes:
    """The body of one malformed AMQP command (the worker must dead-letter it, never apply it)."""
    return _amqp_cases(command_id, account)[case]


#: (case, HTTP path, body, send an Idempotency-Key?): each must get a 4xx and record nothing.
HTTP_MALFORMED = ("float_amount", "extra_field", "same_account_transfer", "missing_key")


def http_malformed(case: str, account: Account) -> tuple[str, dict[str, Any], bool]:
    money = _money(account, 100)
    if case == "float_amount":
        return HTTP_PATHS["deposit"], {**money, "amount": 1.5}, True
    if case == "extra_field":
        return HTTP_PATHS["deposit"], {**money, "surprise": True}, True
    if case == "same_account_transfer":
        return HTTP_PATHS["transfer"], _move(account, account, 100, account.currency), True
    return HTTP_PATHS["deposit"], money, False
