"""Every error the SDK raises, as one tree rooted at the ledger's own (``contracts.errors``).

Grouped by what the caller does about it::

    LedgerError
    ├── TransportError          the request may or may not have arrived: the SDK retried it with
    │   ├── ConnectError        the same idempotency key, so retrying again is safe
    │   └── RequestTimeout
    ├── Unavailable             retry later, unchanged
    │   ├── ServiceUnavailable  503 (and 502, 504 from a proxy)
    │   └── RateLimited         429, ``retry_after`` seconds
    ├── Rejected                do not retry unchanged
    │   ├── InvalidRequest      400, 422: ``errors`` says which fields
    │   ├── AuthenticationError 401
    │   ├── PermissionDenied    403
    │   ├── NotFound            404 (``NotFoundError`` from HTTP, and the ``*_not_found`` refusals)
    │   ├── Conflict            409
    │   └── Refused             a recorded business refusal: ``result`` is the ``CommandResult``
    │       ├── InsufficientFunds, AccountFrozen, ExceedsDailyAmount, … one class per refusal,
    │       │   each also under the group its HTTP status names (``WalletNotFound`` is a ``NotFound``)
    ├── ServerError             500: quote ``trace_id`` when reporting it
    └── CommandPending          waited ``wait_timeout`` and the command is still not answered:
                                ``operation.wait()`` goes on waiting; it is applied at most once

Every HTTP error carries ``status``, ``code`` (the problem document's stable code), ``detail`` and the
``problem`` document itself. A refusal raised from an AMQP reply carries the same fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from contracts.errors import Bug, LedgerError, NotFound, Rejected, Unavailable
from contracts.http import ProblemDocument
from contracts.results import CommandResult, Refusal, refusal_status

if TYPE_CHECKING:
    from ledger_sdk._pending import PendingInfo

__all__ = [
    "APIError",
    "AuthenticationError",
    "CommandPending",
    "Conflict",
    "ConnectError",
    "InvalidRequest",
    "LedgerError",
    "NotFound",
    "NotFoundError",
    "PermissionDenied",
    "RateLimited",
    "Refused",
    "Rejected",
    "RequestTimeout",
    "ServerError",
    "ServiceUnavailable",
    "TransportError",
    "Unavailable",
]


class TransportError(LedgerError):
    """No answer came back: the connection failed, broke, or timed out."""

    code = "transport_error"


class ConnectError(TransportError):
    """The gateway could not be reached (nothing was sent)."""

    code = "connect_error"


class RequestTimeout(TransportError):
    """No answer within the call's ``timeout``; the request may have been applied (retry with the same key)."""

    code = "timeout"


class APIError(LedgerError):
    """An answer that is a problem document (RFC 9457)."""

    def __init__(self, status: int, code: str, detail: str, problem: ProblemDocument | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}" if detail else f"{status} {code}")
        self.status, self.detail, self.problem = status, detail, problem
        self.code = code


class ServiceUnavailable(APIError, Unavailable):
    """The gateway or what it depends on (PostgreSQL, RabbitMQ) is down right now."""


class RateLimited(APIError, Unavailable):
    """The key's rate limit: wait ``retry_after`` seconds."""

    def __init__(self, status: int, code: str, detail: str, problem: ProblemDocument | None = None) -> None:
        super().__init__(status, code, detail, problem)
        self.retry_after: float | None = None


class InvalidRequest(APIError, Rejected):
    """The request is malformed or fails validation; ``errors`` lists the offending fields."""

    def __str__(self) -> str:
        found = self.problem.errors if self.problem else None
        where = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in (found or ())[:3])
        return f"{super().__str__()} ({where})" if where else super().__str__()

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The fields at fault, each with its ``loc``, ``msg`` and ``type`` (empty if the problem named none)."""
        found = self.problem.errors if self.problem else None
        return [e.model_dump() for e in found or ()]


class AuthenticationError(APIError, Rejected):
    """No key, an unknown key, or a revoked one."""


class PermissionDenied(APIError, Rejected):
    """The key may not do this: a scope it lacks, or another wallet's money."""


class NotFoundError(APIError, NotFound):
    """What the request names does not exist, or the key may not see it."""


class Conflict(APIError, Rejected):
    """The request collides with what exists (a handle taken, an idempotency key reused differently)."""


class ServerError(APIError, Bug):
    """The gateway failed (500); ``trace_id`` names the logged traceback."""

    @property
    def trace_id(self) -> str | None:
        """The id naming the server's logged traceback: quote it when reporting the error."""
        return self.problem.trace_id if self.problem else None


class Refused(APIError, Rejected):
    """A business refusal the worker recorded: the same command id always gets it again."""

    refusal: Refusal

    def __init__(self, result: CommandResult, problem: ProblemDocument | None = None) -> None:
        assert result.refusal is not None
        super().__init__(refusal_status(result.refusal), result.refusal.value, result.detail or "", problem)
        self.result, self.refusal = result, result.refusal

    @property
    def command_id(self) -> str:
        """The refused command's id (its idempotency key)."""
        return self.result.command_id


class CommandPending(LedgerError):
    """The command was accepted but not answered within ``wait_timeout``; it is applied at most once.

    ``operation.wait(timeout=…)`` polls again; so does ``client.commands.get(command_id)``."""

    code = "pending"

    def __init__(self, info: PendingInfo, operation: Any) -> None:
        super().__init__(f"command {info.command_id} is still pending")
        self.command_id, self.status_url, self.operation = info.command_id, info.status_url, operation


#: The group an HTTP status belongs to (anything else 4xx: ``InvalidRequest``; 5xx: ``ServerError``).
BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFoundError,
    409: Conflict,
    422: InvalidRequest,
    429: RateLimited,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def status_error(status: int, code: str, detail: str, problem: ProblemDocument | None = None) -> APIError:
    """The error for a problem document that carries no recorded refusal."""
    kind = BY_STATUS.get(status) or (ServerError if status >= 500 else InvalidRequest)
    return kind(status, code, detail, problem)


def refused(result: CommandResult, problem: ProblemDocument | None = None) -> Refused:
    """The exception for a refused ``result``: its refusal's own class (``InsufficientFunds``…)."""
    from ledger_sdk.refusals import REFUSED

    assert result.refusal is not None, "only a refused result is raised"
    return REFUSED[result.refusal](result, problem)


def problem_error(status: int, body: Any) -> APIError:
    """The error for a problem document as the gateway sent it (or for any other failed answer)."""
    try:
        problem = ProblemDocument.model_validate(body)
    except ValueError:
        return status_error(status, f"http_{status}", str(body)[:200])
    if problem.result is not None and problem.result.status == "refused":
        return refused(problem.result, problem)
    return status_error(status, problem.code, problem.detail, problem)
