"""The RabbitMQ permissions of each broker user: regexes over exchange and queue names in the vhost.

One declaration for ``ledger broker-setup`` and ``ledger publishers create`` (which grant them), the
AsyncAPI document (which states what each operation takes) and docs/topology.md ("Broker permissions").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}$")
NOTHING = "^$"


@dataclass(frozen=True)
class Grant:
    """One user's permissions in the vhost: regexes over exchange and queue names."""

    user: str
    configure: str
    write: str
    read: str


def service_grants(namespace: str, user_prefix: str = "ledger-") -> list[Grant]:
    """gateway, worker and relay, each allowed exactly what its code does (see docs/topology.md)."""
    n = re.escape(namespace)
    replies = rf"^{n}ledger\.gateway\.replies\.[0-9a-f]{{32}}$"
    # Reading the command dead-letter queue is how GET /v1/admin/dead_letters sees it (basic.get, handed
    # back unacked) and how replay and purge settle a dead copy; no other queue of commands.
    replies_or_dead = rf"^({n}ledger\.gateway\.replies\.[0-9a-f]{{32}}|{n}ledger\.commands\.dead)$"
    return [
        # Publishes commands; declares, and consumes, its own exclusive reply queue; reads the dead letters.
        Grant(f"{user_prefix}gateway", replies, rf"^{n}ledger\.commands$", replies_or_dead),
        # Consumes the command queue; replies through the default exchange; dead-letters to the DLX.
        Grant(
            f"{user_prefix}worker",
            NOTHING,
            rf"^({n}ledger\.commands\.dlx|amq\.default)$",
            rf"^{n}ledger\.commands\.worker(\.[0-9]+)?$",  # one queue, or one per partition
        ),
        # Publishes events, to the exchange and to the event log (its exchange); reads the log's tail when it
        # takes over publishing it (outbox_relay/stream.py).
        Grant(f"{user_prefix}relay", NOTHING, rf"^{n}ledger\.events(\.log)?$", rf"^{n}ledger\.events\.log$"),
    ]


def reply_queue_prefix(name: str) -> str:
    """The start of every reply queue publisher ``name`` may declare and consume: ``<name>.replies.``."""
    return f"{name}.replies."


def publisher_grant(namespace: str, name: str) -> Grant:
    """Upstream service: publish commands; its own reply queues ``<name>.replies.*`` for results."""
    check_name(namespace, name)
    return replace(publisher_pattern(namespace, re.escape(name)), user=name)


def publisher_pattern(namespace: str, name_regex: str) -> Grant:
    """``publisher_grant`` with the user's name given as a regex (``P`` in the docs and the AsyncAPI document)."""
    replies = f"^{name_regex}{re.escape(reply_queue_prefix(''))}.+$"
    return Grant(name_regex, replies, rf"^{re.escape(namespace)}ledger\.commands$", replies)


def subscriber_grant(namespace: str, name: str) -> Grant:
    """Downstream service: its own queues ``<name>.*``, bound to (read on) ``ledger.events``; reads the log stream."""
    check_name(namespace, name)
    own = rf"{re.escape(name)}\..+"
    return Grant(name, f"^{own}$", f"^{own}$", rf"^({own}|{re.escape(namespace)}ledger\.events(\.log)?)$")


def check_name(namespace: str, name: str) -> None:
    """``ValueError`` unless ``name`` may be a publisher's or subscriber's broker user."""
    # A name whose "<name>." prefix covers the ledger's own entities would grant access to them.
    if not _NAME.match(name) or name in ("amq", "ledger") or f"{namespace}ledger.".startswith(f"{name}."):
        raise ValueError(f"{name!r}: use 2-41 of a-z 0-9 -, starting with a letter, not 'ledger' or 'amq'")
