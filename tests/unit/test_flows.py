"""``GET /v1/flows``: the default period and the wallet labels (the allocation is SQL: tests/e2e/test_operations.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.ids import system_wallet_id
from http_gateway.problems import Problem
from http_gateway.routes.flows import DEFAULT_PERIOD, label, period

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_period_defaults_to_the_last_30_days_and_must_not_be_empty() -> None:
    assert period(None, None, NOW) == (NOW - DEFAULT_PERIOD, NOW)
    end = NOW - timedelta(days=100)
    assert period(None, end, NOW) == (end - DEFAULT_PERIOD, end)
    assert period(end, None, NOW) == (end, NOW)
    for since, until in ((NOW, NOW), (NOW + timedelta(seconds=1), None), (NOW, end)):
        with pytest.raises(Problem) as refused:
            period(since, until, NOW)
        assert (refused.value.status, refused.value.code) == (422, "invalid_period")


def test_a_wallet_is_labelled_by_handle_then_external_ref_then_role_then_id() -> None:
    some = uuid.uuid4()
    assert label(some, "bob", "crm-7") == "@bob"
    assert label(some, None, "crm-7") == "crm-7"
    assert label(system_wallet_id("fees"), None, None) == "fees"
    assert label(some, None, None) == str(some)
