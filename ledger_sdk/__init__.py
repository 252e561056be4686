"""The ledger's Python SDK: a typed sync and async client over HTTP, and AMQP helpers (``ledger_sdk.amqp``).

::

    from ledger_sdk import Client, InsufficientFunds

    with Client("http://127.0.0.1:8000", api_key="lk_live_…") as ledger:
        ledger.transfers.create(debit="@alice", credit="@acme_store", amount="12.50", currency="USD")

Answers are the contract models (``contracts.http``, ``contracts.results.CommandResult``); errors are one
tree (``ledger_sdk.errors``), with one class per business refusal (``ledger_sdk.refusals``).
"""

from contracts.results import CommandResult, Refusal
from ledger_sdk._async.client import AsyncClient, AsyncOperation, AsyncPager, CallOptions
from ledger_sdk._async.money import Leg
from ledger_sdk._sync.client import Client, Operation, Pager
from ledger_sdk._values import AccountRef, Amount, Party, account
from ledger_sdk.errors import (
    APIError,
    AuthenticationError,
    CommandPending,
    Conflict,
    ConnectError,
    InvalidRequest,
    LedgerError,
    NotFound,
    NotFoundError,
    PermissionDenied,
    RateLimited,
    Refused,
    Rejected,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unavailable,
)
from ledger_sdk.refusals import *  # noqa: F403 - one class per refusal, listed in refusals.__all__
from ledger_sdk.refusals import __all__ as _refusals

__all__ = [
    "APIError",
    "AccountRef",
    "Amount",
    "AsyncClient",
    "AsyncOperation",
    "AsyncPager",
    "AuthenticationError",
    "CallOptions",
    "Client",
    "CommandPending",
    "CommandResult",
    "Conflict",
    "ConnectError",
    "InvalidRequest",
    "LedgerError",
    "Leg",
    "NotFound",
    "NotFoundError",
    "Operation",
    "Pager",
    "Party",
    "PermissionDenied",
    "RateLimited",
    "Refusal",
    "Refused",
    "Rejected",
    "RequestTimeout",
    "ServerError",
    "ServiceUnavailable",
    "TransportError",
    "Unavailable",
    "account",
    *(name for name in _refusals if name != "REFUSED"),
]
