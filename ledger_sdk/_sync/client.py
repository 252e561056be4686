# Generated from ledger_sdk/_async/client.py by tools/sdk_generate.py; edit that file, not this one.
"""The client: one HTTP connection pool, the retry loop, writes that wait for their outcome, pages.

This file is the source of both clients: ``tools/sdk_generate.py`` derives ``ledger_sdk/_sync/client.py``
from it (``async``/``await`` removed, ``Async`` names made plain), so the two cannot drift apart.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from time import monotonic
from typing import Any, Generic, TypedDict, TypeVar

import httpx
from pydantic import BaseModel

from contracts.http import Pending
from contracts.results import CommandResult
from ledger_sdk import _retry
from ledger_sdk._pending import PendingInfo
from ledger_sdk.errors import (
    APIError,
    CommandPending,
    ConnectError,
    RateLimited,
    RequestTimeout,
    TransportError,
    problem_error,
    refused,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])

#: A page as a listing's fetch returns it: the items, the cursor after them, whether more may follow.
PageOf = tuple[list[T], str | None, bool]

DEFAULT_URL = "http://127.0.0.1:8000"
USER_AGENT = "ledger-sdk-python/0.1"


class CallOptions(TypedDict, total=False):
    """Per-call overrides of the client's settings (every method takes them as keyword arguments)."""

    #: The write's idempotency key (the command id). Default: one generated per call, reused by its retries.
    idempotency_key: str
    #: Seconds for each HTTP attempt (connect, send, answer).
    timeout: float
    #: Retries after the first attempt (transport errors, 429, 502-504).
    max_retries: int
    #: Seconds a write waits for an outcome the gateway has not given in time (202) before raising
    #: ``CommandPending``; 0: do not poll.
    wait_timeout: float


def route(method: str, path: str) -> Callable[[F], F]:
    """Declare the endpoint a method calls (tests/unit/test_sdk_coverage.py checks every one is covered)."""

    def mark(fn: F) -> F:
        fn.__ledger_route__ = (method, path)  # type: ignore[attr-defined]
        return fn

    return mark


def new_key() -> str:
    """An idempotency key for one intended write (retries of that write reuse it)."""
    return f"sdk-{uuid.uuid4().hex}"


def _parse(model: type[M], data: Any) -> M:
    return model.model_validate(data)


class Client:
    """The ledger over HTTP. ``base_url`` defaults to ``$LEDGER_URL``, ``api_key`` to ``$LEDGER_API_KEY``.

    Every write is idempotent (a key generated per call unless you pass ``idempotency_key``), retried on
    transport errors, 429 and 503 with the same key, and waits for its outcome. Use it as a context
    manager, or call ``close()``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        wait_timeout: float = 30.0,
        poll_interval: float = 0.25,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("LEDGER_API_KEY")
        headers = {"User-Agent": USER_AGENT, **({"Authorization": f"Bearer {key}"} if key else {})}
        self._http = httpx.Client(
            base_url=base_url or os.environ.get("LEDGER_URL", DEFAULT_URL),
            headers=headers,
            timeout=timeout,
            transport=transport,
        )
        self.timeout, self.max_retries, self.wait_timeout = timeout, max_retries, wait_timeout
        self.poll_interval = poll_interval
        # The resources; imported here because they refer back to this class.
        from ledger_sdk._sync import eventlog, history, money, operations, payments, recon, wallets

        self.currencies = wallets.Currencies(self)
        self.wallets = wallets.Wallets(self)
        self.accounts = wallets.Accounts(self)
        self.me = history.Me(self)
        self.deposits = money.Deposits(self)
        self.bonuses = money.Bonuses(self)
        self.spends = money.Spends(self)
        self.withdrawals = money.Withdrawals(self)
        self.transfers = money.Transfers(self)
        self.transactions = money.Transactions(self)
        self.commands = money.Commands(self)
        self.holds = payments.Holds(self)
        self.payment_intents = payments.PaymentIntents(self)
        self.refunds = payments.Refunds(self)
        self.keys = payments.Keys(self)
        self.system = payments.System(self)
        self.flows = operations.Flows(self)
        self.operations = operations.Operations(self)
        self.dead_letters = operations.DeadLetters(self)
        self.events = eventlog.Events(self)
        self.readers = eventlog.Readers(self)
        self.recon = recon.Recon(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (the context manager does it on exit)."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        replayable: bool = True,
        options: CallOptions | None = None,
    ) -> httpx.Response:
        """One call, retried as :mod:`ledger_sdk._retry` says; a 2xx answer, or the error it maps to.

        ``replayable``: the request may be sent again after a transport error that may have come after it
        arrived (reads, and writes with an idempotency key). Otherwise only a failed connect is retried."""
        opts = options or {}
        timeout, retries = opts.get("timeout", self.timeout), opts.get("max_retries", self.max_retries)
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, params=_query(params), json=json, content=content, headers=headers, timeout=timeout
                )
            except httpx.TransportError as exc:
                error = _transport_error(exc)
                wait = _retry.delay(attempt) if replayable or isinstance(error, ConnectError) else None
                if attempt >= retries or wait is None:
                    raise error from exc
            else:
                if response.is_success:
                    return response
                failure = _answer_error(response)
                asked = failure.retry_after if isinstance(failure, RateLimited) else None
                wait = _retry.delay(attempt, asked) if response.status_code in _retry.RETRY_STATUSES else None
                if attempt >= retries or wait is None:
                    raise failure
            time.sleep(wait)
            attempt += 1

    def get(self, path: str, model: type[M], params: dict[str, Any] | None, options: CallOptions) -> M:
        """A ``GET`` of ``path`` read as ``model`` (what the resources' reads are made of)."""
        response = self.request("GET", path, params=params, options=options)
        return _parse(model, response.json())

    def write(self, method: str, path: str, body: Any, options: CallOptions) -> CommandResult:
        """Send a command; its outcome once the worker has given it (a refusal raised as its class)."""
        key = options.get("idempotency_key") or new_key()
        response = self.request(method, path, json=body, headers={"Idempotency-Key": key}, options=options)
        if response.status_code == 202:
            pending = _parse(Pending, response.json())
            operation = Operation(self, PendingInfo(pending.command_id, pending.status_url))
            return operation.wait(timeout=options.get("wait_timeout", self.wait_timeout))
        result = _parse(CommandResult, response.json())
        # The body is the first answer's, byte for byte; the header says whether this one replayed it.
        return result.model_copy(update={"replayed": response.headers.get("Idempotent-Replayed") == "true"})


class Resource:
    """A group of methods (``client.wallets``…) over the client's one connection pool."""

    def __init__(self, client: Client) -> None:
        self._client = client


class Operation:
    """A command the gateway accepted (202) but had no answer for yet; it is applied exactly once."""

    def __init__(self, client: Client, info: PendingInfo) -> None:
        self._client, self.info = client, info

    @property
    def command_id(self) -> str:
        """The command's id: the idempotency key the write was sent with."""
        return self.info.command_id

    def result(self) -> CommandResult | None:
        """The outcome if the worker has given it, else ``None``."""
        try:
            response = self._client.request("GET", self.info.status_url)
        except APIError as exc:
            if exc.status == 404:  # not recorded yet
                return None
            raise
        return _parse(CommandResult, response.json())

    def wait(self, *, timeout: float | None = None) -> CommandResult:
        """Poll until the outcome is there (a refusal raised as its class) or ``timeout`` passes
        (``CommandPending``, carrying this operation)."""
        deadline = monotonic() + (self._client.wait_timeout if timeout is None else timeout)
        while True:
            result = self.result()
            if result is not None:
                if result.status == "refused":
                    raise refused(result)
                return result
            if monotonic() >= deadline:
                raise CommandPending(self.info, self)
            time.sleep(min(self._client.poll_interval, max(0.0, deadline - monotonic())))


class Pager(Generic[T]):
    """Items of a paginated listing, fetching the next page as iteration needs it (``for``).

    The listing's ``limit`` is the page size, not a cap: iteration goes on to the last page, one request
    per page; ``to_list(limit=n)`` stops after ``n`` items.

    ``pages()`` gives whole pages instead; ``cursor`` is where the last page *fetched* ends (cursors
    are per page, not per item): after iterating whole pages, pass it back (``cursor=`` or ``after=``) to
    continue later. An event stream's cursor always moves on, so it resumes a tail."""

    def __init__(self, fetch: Callable[[str | None], PageOf[T]], cursor: str | None) -> None:
        self._fetch, self.cursor = fetch, cursor

    def pages(self) -> Iterator[list[T]]:
        """Whole pages, as the server gives them (each ``limit`` items at most), until the last one."""
        while True:
            items, cursor, more = self._fetch(self.cursor)
            self.cursor = cursor if cursor is not None else self.cursor
            yield items
            if not more:
                return

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            for item in page:
                yield item

    def to_list(self, limit: int | None = None) -> list[T]:
        """Every item (or the first ``limit``), fetching pages as needed."""
        out: list[T] = []
        for item in self:
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
        return out


def _query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without ``None``s; metadata filters as ``metadata.<key>=<value>``."""
    if not params:
        return None
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name == "metadata":
            out.update({f"metadata.{k}": v for k, v in value.items()})
        elif hasattr(value, "isoformat"):
            out[name] = value.isoformat()
        else:
            out[name] = value
    return out


def _transport_error(exc: httpx.TransportError) -> TransportError:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectError(f"cannot reach the gateway: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeout(f"no answer in time: {exc}")
    return TransportError(f"the connection failed: {exc!r}")


def _answer_error(response: httpx.Response) -> APIError:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    error = problem_error(response.status_code, body)
    if isinstance(error, RateLimited):
        error.retry_after = _retry.retry_after(response.headers.get("Retry-After"))
    return error
