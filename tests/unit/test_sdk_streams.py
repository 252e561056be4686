"""The SDK subscriber's pure decisions: which stream an event is in, duplicate / next / gap, stalls, the store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contracts.events import AccountOpened, CurrencyRegistered, EventEnvelope, WalletCreated
from ledger_sdk.amqp import MemoryEventStore, Order, Stalls, order, stream_of


def _event(**fields: object) -> EventEnvelope:
    base: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "command_id": "c1",
        "account_id": None,
        "sequence": None,
    }
    return EventEnvelope.model_validate(base | fields)


def test_streams_are_accounts_then_wallets_and_unsequenced_events_have_none() -> None:
    account, wallet = uuid.uuid4(), uuid.uuid4()
    opened = _event(
        type="account.opened", account_id=account, wallet_id=wallet, sequence=1, payload=AccountOpened(currency="USD")
    )
    created = _event(
        type="wallet.created",
        wallet_id=wallet,
        sequence=1,
        payload=WalletCreated(owner_id="o", kind="user", handle=None, external_ref=None, metadata={}),
    )
    currency = _event(type="currency.registered", payload=CurrencyRegistered(code="EUR", name="Euro", exponent=2))
    assert stream_of(opened) == f"account:{account}"
    assert stream_of(created) == f"wallet:{wallet}"
    assert stream_of(currency) is None


def test_order_of_a_sequence_against_the_position() -> None:
    assert order(0, 1) is Order.NEXT
    assert order(4, 5) is Order.NEXT
    assert order(4, 4) is Order.DUPLICATE
    assert order(4, 1) is Order.DUPLICATE
    assert order(0, 2) is Order.GAP
    assert order(4, 9) is Order.GAP


def _deliver(sequences: list[int]) -> tuple[list[int], list[tuple[int, int]]]:
    """What the subscriber hands its handler (and reports as gaps) for a stream delivered in this order."""
    position, handled, gaps = 0, [], []
    for seq in sequences:
        verdict = order(position, seq)
        if verdict is Order.DUPLICATE:
            continue
        if verdict is Order.GAP:
            gaps.append((position + 1, seq))
        handled.append(seq)
        position = seq
    return handled, gaps


@given(st.lists(st.integers(min_value=1, max_value=50), max_size=60))
def test_a_handler_never_sees_a_stream_go_backwards_or_twice(sequences: list[int]) -> None:
    handled, gaps = _deliver(sequences)
    assert handled == sorted(set(handled))
    assert {got for _, got in gaps} <= set(handled)
    for expected, got in gaps:
        assert got > expected and expected - 1 in {0, *handled}


@given(st.integers(min_value=1, max_value=40), st.data())
def test_in_order_delivery_with_redeliveries_is_handled_exactly_once_without_gaps(n: int, data: st.DataObject) -> None:
    """At-least-once: the relay publishes 1..n in order and may publish any already published one again."""
    sequences: list[int] = []
    for seq in range(1, n + 1):
        sequences.append(seq)
        sequences += data.draw(st.lists(st.integers(min_value=1, max_value=seq), max_size=3))
    assert _deliver(sequences) == (list(range(1, n + 1)), [])


def test_a_stall_holds_later_events_of_its_stream_until_handled_or_expired() -> None:
    now = [0.0]
    stalls = Stalls(expiry=10, clock=lambda: now[0])
    stalls.stall("account:a", 5)
    assert stalls.holds("account:a", 6) and stalls.holds("account:a", 7)
    assert not stalls.holds("account:a", 5)  # the failed one itself is retried
    assert not stalls.holds("account:a", 4)  # before it: a duplicate, decided by the position
    assert not stalls.holds("account:b", 6)  # other streams go on
    stalls.clear("account:a")
    assert not stalls.holds("account:a", 6) and "account:a" not in stalls
    stalls.stall("account:a", 5)
    now[0] = 10.5
    assert not stalls.holds("account:a", 6) and "account:a" not in stalls  # expired: the failed one is gone


async def test_the_memory_store_remembers_ids_and_never_lowers_a_position() -> None:
    store, ids = MemoryEventStore(max_ids=2), [uuid.uuid4() for _ in range(3)]
    assert await store.position("account:a") == 0 and not await store.seen(ids[0])
    await store.record(ids[0], "account:a", 3)
    await store.record(ids[1], "account:a", 2)
    assert await store.position("account:a") == 3 and await store.seen(ids[0])
    await store.record(ids[2], None, None)
    assert not await store.seen(ids[0]) and await store.seen(ids[2])  # the oldest id made room
    assert await store.position("account:a") == 3
