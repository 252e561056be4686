"""Property tests of the pure rules on an in-memory book: conservation, limits, holds, atomic refusals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.base import MAX_AMOUNT
from contracts.commands import Command, build_command
from contracts.events import parse_event
from contracts.ids import SYSTEM_ROLES, system_account_id, system_wallet_id
from contracts.keys import ALL_SCOPES
from contracts.results import CommandResult, Refusal
from ledger_worker.book import Book
from ledger_worker.model import Account, Caller, Currency, Hold, Wallet
from ledger_worker.outcome import Outcome
from ledger_worker.run import run
from ledger_worker.store import event_rows

NOW = datetime(2026, 1, 1, tzinfo=UTC)
USERS = [uuid.UUID(int=i + 1) for i in range(4)]
HOLDS = [uuid.UUID(int=100 + i) for i in range(3)]


def world() -> Book:
    book = Book(now=NOW, currencies={"USD": Currency("USD", "US dollar", 2)})
    book.load(Wallet(id=u, owner_id=str(u), kind="user") for u in USERS)
    book.load(Account(id=u, wallet_id=u, currency="USD", kind="user") for u in USERS)
    for role in SYSTEM_ROLES:
        book.load([Wallet(id=system_wallet_id(role), owner_id="system", kind="system")])
        book.load([Account(system_account_id("USD", role), system_wallet_id(role), "USD", "system", min_balance=None)])
    return book


def command(kind: str, **payload: Any) -> Command:
    return build_command(kind, payload, command_id=uuid.uuid4().hex, issued_at=NOW)


INTERNAL = Caller("test", ALL_SCOPES, internal=True)


def apply(book: Book, cmd: Command) -> tuple[CommandResult, Outcome]:
    _, result, outcome = run(book, cmd, INTERNAL)
    return result, outcome


users = st.sampled_from(USERS).map(str)
amounts = st.integers(min_value=1, max_value=5_000)
commands = st.one_of(
    st.builds(lambda a, n: command("deposit", account_id=a, amount=n, currency="USD"), users, amounts),
    st.builds(lambda a, n: command("bonus", account_id=a, amount=n, currency="USD"), users, amounts),
    st.builds(lambda a, n: command("spend", account_id=a, amount=n, currency="USD"), users, amounts),
    st.builds(lambda a, n: command("withdraw", account_id=a, amount=n, currency="USD"), users, amounts),
    st.builds(
        lambda p, n: command("transfer", debit_account_id=p[0], credit_account_id=p[1], amount=n, currency="USD"),
        st.permutations(USERS).map(lambda p: (str(p[0]), str(p[1]))),
        amounts,
    ),
    st.builds(
        lambda h, a, n: command("hold.place", hold_id=str(h), account_id=a, amount=n, currency="USD"),
        st.sampled_from(HOLDS),
        users,
        amounts,
    ),
    st.builds(
        lambda h, to, n: command("hold.capture", hold_id=str(h), recipient_account_id=to, amount=n),
        st.sampled_from(HOLDS),
        users,
        st.none() | amounts,
    ),
    st.builds(lambda h: command("hold.release", hold_id=str(h)), st.sampled_from(HOLDS)),
    st.builds(lambda h, n: command("hold.increment", hold_id=str(h), amount=n), st.sampled_from(HOLDS), amounts),
    st.builds(
        lambda a, m, c: command("account.set_limits", account_id=a, currency="USD", min_balance=m, daily_debit_count=c),
        users,
        st.integers(min_value=-2_000, max_value=500),
        st.none() | st.integers(min_value=1, max_value=5),
    ),
)


def state(book: Book) -> Any:
    """Everything a command may change, as plain values."""
    return (
        {k: vars_of(v) for k, v in book.accounts.items()},
        {k: vars_of(v) for k, v in book.holds.items()},
        {k: vars_of(v) for k, v in book.wallets.items()},
        len(book.changed),
    )


def vars_of(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f) for f in obj.__slots__)


@settings(max_examples=150, deadline=None)
@given(st.lists(commands, max_size=50))
def test_every_command_keeps_the_books_balanced_and_refusals_change_nothing(cmds: list[Command]) -> None:
    book = world()
    for cmd in cmds:
        before = state(book)
        result, outcome = apply(book, cmd)
        # Events and results are built without re-validating them: the contracts must agree.
        CommandResult.model_validate(result.model_dump())
        for row in event_rows(outcome, NOW):
            parse_event(row.body)
        if result.status == "refused":
            assert state(book) == before
            assert [e.type for e in outcome.events] == ["command.refused"]
            assert not outcome.postings and not outcome.transactions
        assert sum(a.balance for a in book.accounts.values()) == 0
        for account in book.accounts.values():
            pending = sum(h.amount for h in book.holds.values() if h.account_id == account.id and h.status == "pending")
            assert account.held == pending
            if account.min_balance is not None and result.status == "applied" and cmd.type != "account.set_limits":
                assert account.available >= account.min_balance or account.id not in debited(cmd)
        for hold in book.holds.values():
            assert 0 <= hold.captured_amount <= hold.amount


def debited(cmd: Command) -> set[uuid.UUID]:
    """Accounts whose available funds ``cmd`` lowers (and so must have checked)."""
    p: Any = cmd.payload
    return {getattr(p, f) for f in ("account_id", "debit_account_id") if getattr(p, f, None) is not None}


def test_a_refused_multi_leg_transaction_leaves_no_partial_postings() -> None:
    book = world()
    apply(book, command("deposit", account_id=str(USERS[0]), amount=100, currency="USD"))
    legs = [
        {"account_id": str(USERS[0]), "side": "debit", "amount": 100},
        {"account_id": str(USERS[1]), "side": "debit", "amount": 50},  # USERS[1] has nothing: refused
        {"account_id": str(USERS[2]), "side": "credit", "amount": 150},
    ]
    result, outcome = apply(book, command("transaction.post", currency="USD", legs=legs))
    assert result.refusal == Refusal.INSUFFICIENT_FUNDS
    assert not outcome.postings and book.accounts[USERS[0]].balance == 100


def test_capture_takes_part_and_releases_the_rest() -> None:
    book = world()
    apply(book, command("deposit", account_id=str(USERS[0]), amount=1_000, currency="USD"))
    place = command("hold.place", hold_id=str(HOLDS[0]), account_id=str(USERS[0]), amount=600, currency="USD")
    assert apply(book, place)[0].balances[0].available == 400
    capture = command("hold.capture", hold_id=str(HOLDS[0]), amount=250, recipient_account_id=str(USERS[1]))
    result, _ = apply(book, capture)
    payer = next(b for b in result.balances if b.account_id == USERS[0])
    assert (payer.balance, payer.held, payer.available) == (750, 0, 750)
    again, _ = apply(book, command("hold.capture", hold_id=str(HOLDS[0]), recipient_account_id=str(USERS[1])))
    assert again.refusal == Refusal.HOLD_NOT_PENDING


def test_an_increment_reserves_more_only_from_available_funds() -> None:
    book = world()
    apply(book, command("deposit", account_id=str(USERS[0]), amount=1_000, currency="USD"))
    place = command("hold.place", hold_id=str(HOLDS[0]), account_id=str(USERS[0]), amount=600, currency="USD")
    apply(book, place)
    grown, outcome = apply(book, command("hold.increment", hold_id=str(HOLDS[0]), amount=300, expires_in_seconds=60))
    assert (grown.balances[0].held, grown.balances[0].available) == (900, 100)
    assert book.holds[HOLDS[0]].amount == 900 and [e.type for e in outcome.events] == ["hold.incremented"]
    too_much, _ = apply(book, command("hold.increment", hold_id=str(HOLDS[0]), amount=101))
    assert too_much.refusal == Refusal.INSUFFICIENT_FUNDS and book.holds[HOLDS[0]].amount == 900
    apply(book, command("account.set_limits", account_id=str(USERS[0]), currency="USD", max_per_transaction=950))
    over_limit, _ = apply(book, command("hold.increment", hold_id=str(HOLDS[0]), amount=60))
    assert over_limit.refusal == Refusal.EXCEEDS_TRANSACTION_LIMIT  # the limit counts the hold's new total


def test_expired_holds_cannot_be_captured() -> None:
    book = world()
    book.load([Hold(HOLDS[1], USERS[0], "USD", 10, "c", expires_at=NOW, recipient_account_id=USERS[1])])
    book.accounts[USERS[0]].balance = book.accounts[USERS[0]].held = 10
    result, _ = apply(book, command("hold.capture", hold_id=str(HOLDS[1])))
    assert result.refusal == Refusal.HOLD_EXPIRED


def test_unknown_account_currency_mismatch_and_overflow_are_refused() -> None:
    book = world()
    book.currencies["EUR"] = Currency("EUR", "Euro", 2)
    missing, _ = apply(book, command("deposit", account_id=str(uuid.uuid4()), amount=1, currency="USD"))
    assert missing.refusal == Refusal.ACCOUNT_NOT_FOUND
    eur = command("transfer", debit_account_id=str(USERS[0]), credit_account_id=str(USERS[1]), amount=1, currency="EUR")
    assert apply(book, eur)[0].refusal == Refusal.CURRENCY_MISMATCH
    book.accounts[USERS[0]].balance = MAX_AMOUNT
    over, _ = apply(book, command("deposit", account_id=str(USERS[0]), amount=1, currency="USD"))
    assert over.refusal == Refusal.BALANCE_OVERFLOW


def test_only_a_well_formed_key_principal_names_a_key() -> None:
    """Spending limits apply to ``key:<uuid>``; anything else an AMQP publisher writes names no key."""
    from contracts.ids import principal_key

    key = uuid.uuid4()
    assert principal_key(f"key:{key}") == key
    assert [principal_key(p) for p in (None, "service", "key:", "key:not-a-uuid", f"KEY:{key}")] == [None] * 5
