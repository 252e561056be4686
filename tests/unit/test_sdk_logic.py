"""The SDK's pure logic: amounts and parties as request fields, when to retry and how long to wait, and
which exception each answer becomes (every refusal its own class, in the group of its HTTP status)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ledger_sdk
from contracts.results import CommandResult, Refusal, refusal_status
from ledger_sdk import _retry, errors
from ledger_sdk._values import account, amount, party, path_ref
from ledger_sdk.refusals import REFUSED
from tools.sdk_generate import class_name


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8))
def test_a_decimal_is_sent_as_its_exact_fixed_point_string(value: Decimal) -> None:
    sent = amount(value)
    assert isinstance(sent, str) and "e" not in sent.lower() and Decimal(sent) == value


@given(st.integers(min_value=1, max_value=10**38 - 1))
def test_an_int_is_minor_units_as_it_is(value: int) -> None:
    assert amount(value) == value


@pytest.mark.parametrize("bad", [12.5, True, None, Decimal("NaN"), Decimal("Infinity")])
def test_floats_bools_and_non_finite_decimals_are_refused_before_sending(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        amount(bad)  # type: ignore[arg-type]


def test_parties_name_a_wallet_unless_marked_as_an_account() -> None:
    wallet, acct = uuid.uuid4(), uuid.uuid4()
    assert party("debit_", "@alice") == {"debit_wallet": "@alice"}
    assert party("", "ext:crm-42") == {"wallet": "ext:crm-42"}
    assert party("payer_", wallet) == {"payer_wallet": str(wallet)}
    assert party("credit_", account(acct)) == {"credit_account_id": str(acct)}
    assert party("recipient_", None) == {}
    assert path_ref("ext:a/b") == "ext:a%2Fb"
    with pytest.raises(TypeError):
        path_ref(account(acct))


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert _retry.retry_after("3") == 3.0
    assert _retry.retry_after(format_datetime(now + timedelta(seconds=5), usegmt=True), now=now) == 5.0
    assert _retry.retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0
    assert _retry.retry_after("soon") is None and _retry.retry_after(None) is None


@given(st.integers(min_value=0, max_value=50))
def test_backoff_is_jittered_and_capped(attempt: int) -> None:
    wait = _retry.delay(attempt)
    assert wait is not None and 0 <= wait <= min(_retry.CAP_SECONDS, _retry.BASE_SECONDS * 2**attempt)


def test_what_the_server_asks_for_wins_unless_it_is_too_long() -> None:
    assert _retry.delay(5, 2.0) == 2.0
    assert _retry.delay(0, _retry.MAX_RETRY_AFTER + 1) is None


def _refused(refusal: Refusal) -> CommandResult:
    return CommandResult(command_id="c", command_type="transfer", status="refused", refusal=refusal, detail="no")


@pytest.mark.parametrize("refusal", list(Refusal))
def test_each_refusal_is_raised_as_its_own_class_in_its_status_group(refusal: Refusal) -> None:
    status = refusal_status(refusal)
    problem = {"type": "about:blank", "title": "t", "status": status, "detail": "no", "code": refusal.value}
    error = errors.problem_error(status, {**problem, "result": _refused(refusal).model_dump(mode="json")})
    assert type(error) is REFUSED[refusal] is getattr(ledger_sdk, class_name(refusal))
    assert isinstance(error, ledger_sdk.Refused) and isinstance(error, ledger_sdk.Rejected)
    assert error.status == status
    if status in (403, 404, 409):  # also a PermissionDenied, NotFound, Conflict
        assert isinstance(error, errors.BY_STATUS[status])
    else:  # 422: a business refusal, not a malformed request
        assert not isinstance(error, ledger_sdk.InvalidRequest)
    assert error.refusal is refusal and error.result.detail == "no" and error.code == refusal.value


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ledger_sdk.InvalidRequest),
        (401, ledger_sdk.AuthenticationError),
        (403, ledger_sdk.PermissionDenied),
        (404, ledger_sdk.NotFound),
        (409, ledger_sdk.Conflict),
        (413, ledger_sdk.InvalidRequest),
        (422, ledger_sdk.InvalidRequest),
        (429, ledger_sdk.Unavailable),
        (500, ledger_sdk.ServerError),
        (503, ledger_sdk.ServiceUnavailable),
    ],
)
def test_other_problems_by_status(status: int, kind: type[Exception]) -> None:
    problem = {"type": "about:blank", "title": "t", "status": status, "detail": "d", "code": "x", "trace_id": "t1"}
    error = errors.problem_error(status, problem)
    assert (
        isinstance(error, kind) and isinstance(error, ledger_sdk.LedgerError) and not isinstance(error, errors.Refused)
    )
    assert error.code == "x" and error.problem is not None


def test_an_answer_that_is_not_a_problem_document_still_maps_by_status() -> None:
    error = errors.problem_error(502, "<html>bad gateway</html>")
    assert isinstance(error, ledger_sdk.ServiceUnavailable) and error.code == "http_502"


def test_a_validation_error_says_which_fields() -> None:
    problem = {
        "type": "about:blank",
        "title": "t",
        "status": 422,
        "detail": "the request is not valid",
        "code": "validation_error",
        "errors": [{"loc": ["body", "amount"], "msg": "Input should be greater than 0", "type": "greater_than"}],
    }
    error = errors.problem_error(422, problem)
    assert isinstance(error, ledger_sdk.InvalidRequest)
    assert "body.amount: Input should be greater than 0" in str(error)
    assert error.errors[0]["loc"] == ["body", "amount"]
