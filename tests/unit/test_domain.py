"""Property tests of the pure ledger rules: money is conserved and no user account overdraws."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.commands import Deposit, Transfer, Withdraw
from contracts.results import Refusal
from ledger_worker.domain import AccountState, Refused, legs, plan, system_account_id

USERS = [uuid.UUID(int=i + 1) for i in range(4)]
SYSTEM = system_account_id("USD")

amounts = st.integers(min_value=1, max_value=10_000)
movement = st.one_of(
    st.builds(lambda a, n: Deposit(account_id=a, amount=n, currency="USD"), st.sampled_from(USERS), amounts),
    st.builds(lambda a, n: Withdraw(account_id=a, amount=n, currency="USD"), st.sampled_from(USERS), amounts),
    st.builds(
        lambda pair, n: Transfer(debit_account_id=pair[0], credit_account_id=pair[1], amount=n, currency="USD"),
        st.permutations(USERS).map(lambda p: (p[0], p[1])),
        amounts,
    ),
)


def world() -> dict[uuid.UUID, AccountState]:
    accounts = {u: AccountState(u, "USD", "user", 0, 0, 0) for u in USERS}
    accounts[SYSTEM] = AccountState(SYSTEM, "USD", "system", 0, None, 0)
    return accounts


@settings(max_examples=200)
@given(st.lists(movement, max_size=60))
def test_money_is_conserved_and_users_never_overdraw(moves: list[Deposit | Withdraw | Transfer]) -> None:
    accounts = world()
    for move in moves:
        outcome = plan(move, accounts)
        if isinstance(outcome, Refused):
            assert outcome.refusal is Refusal.INSUFFICIENT_FUNDS
            debit_id, _ = legs(move)
            assert accounts[debit_id].balance < move.amount
            continue
        assert sum(p.amount for p in outcome) == 0
        for p in outcome:
            old = accounts[p.account_id]
            assert p.balance_after == old.balance + p.amount
            accounts[p.account_id] = AccountState(old.id, "USD", old.kind, p.balance_after, old.min_balance, 0)
    assert sum(a.balance for a in accounts.values()) == 0
    assert all(a.balance >= 0 for a in accounts.values() if a.kind == "user")


def test_unknown_account_and_currency_mismatch_are_refused() -> None:
    accounts = world()
    missing = plan(Deposit(account_id=uuid.uuid4(), amount=1, currency="USD"), accounts)
    assert isinstance(missing, Refused) and missing.refusal is Refusal.ACCOUNT_NOT_FOUND
    eur = plan(Transfer(debit_account_id=USERS[0], credit_account_id=USERS[1], amount=1, currency="EUR"), accounts)
    assert isinstance(eur, Refused) and eur.refusal is Refusal.CURRENCY_MISMATCH


def test_balance_overflow_is_refused() -> None:
    accounts = world()
    accounts[USERS[0]] = AccountState(USERS[0], "USD", "user", 2**63 - 1, 0, 0)
    outcome = plan(Deposit(account_id=USERS[0], amount=1, currency="USD"), accounts)
    assert isinstance(outcome, Refused) and outcome.refusal is Refusal.BALANCE_OVERFLOW
