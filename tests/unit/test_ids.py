"""Ids belong to the ledger (contracts/ids.py, docs/security.md): every id the ledger derives is a
version-5 UUID, and a caller-chosen id of that kind is refused ``reserved_id`` before any rule runs, so
the ids callers choose and the ids the ledger derives never meet."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.catalogue import COMMANDS
from contracts.ids import (
    SYSTEM_ROLES,
    derived_id,
    is_ledger_id,
    object_id,
    system_account_id,
    system_wallet_id,
    wallet_account_id,
)
from contracts.keys import Scope
from contracts.refs import references
from contracts.results import Refusal
from ledger_worker.authorize import check
from ledger_worker.book import Book
from ledger_worker.model import Caller, Refused
from tests.ledger import cmd

currencies = st.from_regex(r"^[A-Z][A-Z0-9]{2,11}$", fullmatch=True)
texts = st.text(max_size=64)


@given(currencies, st.sampled_from(SYSTEM_ROLES), st.uuids(), texts, texts)
def test_every_id_the_ledger_derives_is_of_its_own_kind(
    currency: str, role: str, wallet: uuid.UUID, principal: str, command_id: str
) -> None:
    derived = [
        system_account_id(currency, role),  # type: ignore[arg-type]
        system_wallet_id(role),  # type: ignore[arg-type]
        wallet_account_id(wallet, currency),
        object_id("hold", principal=principal, command_id=command_id),
        derived_id("account", command_id),
    ]
    assert all(is_ledger_id(i) for i in derived)


@given(st.uuids(version=4))
def test_random_ids_are_the_callers(chosen: uuid.UUID) -> None:
    assert not is_ledger_id(chosen)


#: Each command creating an object under a caller-chosen id, and a payload naming the id.
CHOSEN: dict[str, tuple[str, dict[str, Any]]] = {
    "wallet.create": ("wallet_id", {"owner_id": "o"}),
    "account.open": ("account_id", {"currency": "USD"}),
    "hold.place": ("hold_id", {"wallet": "@a_wallet", "amount": 1, "currency": "USD"}),
    "intent.create": ("intent_id", {"merchant_wallet": "@a_shop", "amount": 1, "currency": "USD"}),
}


def test_every_command_taking_a_chosen_id_is_covered() -> None:
    creating = {
        spec.type
        for spec in COMMANDS
        if any(d.ref.new and d.ref.kind not in ("handle", "external_ref", "currency") for d in references(spec.payload))
    }
    assert creating == set(CHOSEN)


@pytest.mark.parametrize("kind", sorted(CHOSEN))
def test_a_chosen_id_of_the_ledgers_kind_is_refused_before_any_rule(kind: str) -> None:
    field, payload = CHOSEN[kind]
    caller = Caller("key:x", scopes=frozenset(Scope))
    book = Book(now=datetime.now(UTC), currencies={})
    taken = [system_account_id("USD", "revenue"), wallet_account_id(uuid.uuid4(), "EUR"), system_wallet_id("treasury")]
    for ledger_id in taken:
        with pytest.raises(Refused) as refused:
            check(book, cmd(kind, principal="key:x", **{field: ledger_id, **payload}), caller)
        assert refused.value.refusal == Refusal.RESERVED_ID
    check(book, cmd(kind, principal="key:x", **{field: uuid.uuid4(), **payload}), caller)  # a random id passes
    internal = Caller("system:seed", scopes=frozenset(Scope), internal=True)
    check(book, cmd(kind, principal="system:seed", **{field: taken[0], **payload}), internal)  # the ledger's own
