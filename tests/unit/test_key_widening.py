"""``keystore.wider``: what of a key's scopes and limits would be wider than its creator's (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contracts.keys import KeyView, RateLimit, Scope, SpendingLimit
from ledger_common.keystore import wider


def _caller(
    rate: RateLimit | None = None, spending: tuple[SpendingLimit, ...] = (), scopes: tuple[Scope, ...] = (Scope.ADMIN,)
) -> KeyView:
    now = datetime.now(UTC)
    return KeyView(
        id=uuid.uuid4(),
        name="caller",
        prefix="lk_test_0123456789ab",
        scopes=scopes,
        wallet_id=None,
        created_at=now,
        created_by="service",
        revoked_at=None,
        last_used_at=None,
        rate_limit=rate,
        spending_limits=spending,
    )


def _fields(caller: KeyView, **given: object) -> list[str]:
    return [field for field, _ in wider(caller, **given)]  # type: ignore[arg-type]


USD = SpendingLimit(currency="USD", per_transaction_max=500, per_day_max=2000)


def test_an_unlimited_caller_bounds_no_limit() -> None:
    assert _fields(_caller(), rate=None, spending=()) == []
    assert _fields(_caller(), rate=RateLimit(per_second=100_000, burst=1_000_000), spending=()) == []


def test_a_missing_limit_where_the_caller_has_one_is_wider() -> None:
    caller = _caller(RateLimit(per_second=5, burst=10), (USD,))
    assert _fields(caller, rate=None, spending=()) == [
        "rate_limit",
        "spending_limits.USD.per_transaction_max",
        "spending_limits.USD.per_day_max",
    ]
    daily = SpendingLimit(currency="USD", per_day_max=1)
    assert _fields(caller, rate=RateLimit(per_second=5, burst=10), spending=(daily,)) == [
        "spending_limits.USD.per_transaction_max"
    ]
    only_per_tx = _caller(spending=(SpendingLimit(currency="USD", per_transaction_max=10),))
    assert _fields(only_per_tx, rate=None, spending=(SpendingLimit(currency="USD", per_transaction_max=10),)) == []


def test_each_larger_field_is_named() -> None:
    caller = _caller(RateLimit(per_second=5, burst=10), (USD,), scopes=(Scope.ADMIN, Scope.READ))
    more = SpendingLimit(currency="USD", per_transaction_max=501, per_day_max=2001)
    found = wider(
        caller, scopes=(Scope.READ, Scope.DEPOSIT), rate=RateLimit(per_second=5.5, burst=11), spending=(more,)
    )
    assert [f for f, _ in found] == [
        "scopes",
        "rate_limit.per_second",
        "rate_limit.burst",
        "spending_limits.USD.per_transaction_max",
        "spending_limits.USD.per_day_max",
    ]
    assert "deposit" in found[0][1] and "5.5/s > 5/s" in found[1][1] and "USD per_day_max 2001 > 2000" in found[4][1]


amounts = st.integers(min_value=1, max_value=10**12)


@st.composite
def limits(draw: st.DrawFn) -> SpendingLimit:
    per_tx, per_day = draw(st.none() | amounts), draw(st.none() | amounts)
    if per_tx is None and per_day is None:
        per_day = draw(amounts)
    return SpendingLimit(
        currency=draw(st.sampled_from(["USD", "EUR", "JPY"])), per_transaction_max=per_tx, per_day_max=per_day
    )


@given(st.lists(limits(), unique_by=lambda s: s.currency), st.lists(limits(), unique_by=lambda s: s.currency))
def test_wider_exactly_when_some_bound_of_the_caller_is_exceeded_or_missing(
    mine: list[SpendingLimit], theirs: list[SpendingLimit]
) -> None:
    caller = _caller(spending=tuple(mine))
    assert _fields(caller, rate=None, spending=tuple(mine)) == []  # the caller's own limits are within them
    given_ = {s.currency: s for s in theirs}
    expected = []
    for bound in mine:
        new = given_.get(bound.currency)
        for part in ("per_transaction_max", "per_day_max"):
            limit, value = getattr(bound, part), getattr(new, part, None)
            if limit is not None and (value is None or value > limit):
                expected.append(f"spending_limits.{bound.currency}.{part}")
    assert _fields(caller, rate=None, spending=tuple(theirs)) == expected
