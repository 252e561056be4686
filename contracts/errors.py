"""The one exception tree of the ledger, grouped by what the caller does about an error.

- :class:`Unavailable`: a backing service (PostgreSQL, RabbitMQ) is down or cut off; nothing is
  wrong with the request. Retry it later, unchanged (HTTP 503 with ``Retry-After``; an AMQP command
  is requeued).
- :class:`Rejected`: the request or message itself cannot be done as given. Do not retry it
  unchanged (HTTP 4xx problem document; an AMQP message that is not a command is dead-lettered with
  its reason; a business refusal is a recorded outcome, see ``contracts.results.Refusal``).
- :class:`Bug`: an invariant of ours was broken. Report it (HTTP 500 problem document with a
  ``trace_id`` that names the logged traceback; an AMQP command is dead-lettered as an internal error).

::

    LedgerError
    ├── Unavailable            retry            503 + Retry-After    requeue
    │   ├── DatabaseUnavailable
    │   └── BrokerUnavailable
    ├── Rejected               refuse           4xx (422)            dead-letter with the reason
    │   └── NotFound                            404
    └── Bug                    report           500 + trace_id       dead-letter "internal error: <class>"

Driver errors (asyncpg, aio-pika) are mapped into this tree at the edges that call the drivers
(``ledger_common.db.classify``, ``ledger_common.amqp.classify``), so code above them catches ours only;
the mapped error keeps the driver's as its ``__cause__``. Each class has a stable ``code``, the problem
code the gateway answers with when nothing more specific converted it.
This module lives in ``contracts`` so that every package, the SDK included, shares the root.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error the ledger raises on purpose."""

    #: Stable machine-readable code (the problem document's ``code`` at the HTTP edge).
    code: str = "internal_error"


class Unavailable(LedgerError):
    """A backing service cannot be reached right now; the same request may succeed later."""

    code = "service_unavailable"


class DatabaseUnavailable(Unavailable):
    """PostgreSQL is unreachable, restarting, or aborted the transaction (deadlock, serialization)."""


class BrokerUnavailable(Unavailable):
    """No usable broker connection or channel right now, or the broker refused a publish."""


class Rejected(LedgerError):
    """The request or message is not acceptable as it is; retrying it unchanged gives the same answer."""

    code = "invalid_request"


class NotFound(Rejected, LookupError):
    """What the request names does not exist (a ``LookupError`` too, as the classes it replaces were)."""

    code = "not_found"


class Bug(LedgerError):
    """Something that must never happen did: a programming error or a broken invariant."""
