"""One exception tree: every exception class of ours is a ``contracts.errors.LedgerError`` under exactly one
group (``Unavailable``: retry, ``Rejected``: refuse, ``Bug``: report), and driver errors map into it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import aio_pika
import asyncpg
from pamqp import commands as spec

from contracts.errors import BrokerUnavailable, Bug, DatabaseUnavailable, LedgerError, NotFound, Rejected, Unavailable
from ledger_common import amqp, db

#: Every package of the product (tests and tools are not: their helpers may raise what they like).
PACKAGES = ("contracts", "ledger_common", "ledger_worker", "http_gateway", "outbox_relay", "ledger_cli")
GROUPS = (Unavailable, Rejected, Bug)
#: Classes allowed outside the tree (none: AmountError and SignatureError are Rejected and ValueErrors).
PENDING: tuple[str, ...] = ()


def _modules() -> list[ModuleType]:
    found: list[ModuleType] = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            found.append(importlib.import_module(info.name))
    return found


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined (not merely imported) in a module of ours, by qualified name."""
    classes: dict[str, type[BaseException]] = {}
    for module in _modules():
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module.__name__:
                classes[f"{value.__module__}.{value.__qualname__}"] = value
    return classes


def _group(cls: type[BaseException]) -> list[type[LedgerError]]:
    return [g for g in GROUPS if issubclass(cls, g)]


def test_every_exception_of_ours_is_in_the_tree_under_one_group() -> None:
    classes = _exception_classes()
    # The walk really finds them (one from each kind of package at least).
    assert {
        "contracts.errors.NotFound",
        "ledger_common.keystore.KeyNotFound",
        "http_gateway.problems.Problem",
        "ledger_common.intake.Undecodable",
        "ledger_cli.bench.http1.TransportError",
    } <= set(classes)
    roots = {LedgerError, *GROUPS}
    outside = sorted(n for n, c in classes.items() if n not in PENDING and not issubclass(c, LedgerError))
    assert outside == [], "not under contracts.errors.LedgerError"
    ungrouped = sorted(n for n, c in classes.items() if c not in roots and n not in PENDING and len(_group(c)) != 1)
    assert ungrouped == [], "not under exactly one of Unavailable, Rejected, Bug"


def test_each_class_is_in_the_group_of_what_its_caller_does() -> None:
    from http_gateway.bus import BrokerUnavailable as GatewayBrokerUnavailable
    from http_gateway.problems import Problem
    from ledger_cli.bench.http1 import TransportError
    from ledger_cli.broker import BrokerSetupError
    from ledger_cli.seed import SeedFailed
    from ledger_common.intake import Undecodable
    from ledger_common.keystore import KeyNotFound, WalletNotFound

    assert GatewayBrokerUnavailable is BrokerUnavailable  # one class, wherever it is imported from
    assert issubclass(DatabaseUnavailable, Unavailable) and issubclass(BrokerUnavailable, Unavailable)
    assert issubclass(TransportError, Unavailable)  # the bench retries it with the same key
    for refused in (Problem, Undecodable, SeedFailed, BrokerSetupError, NotFound):
        assert issubclass(refused, Rejected), refused
    # Compatibility with what they were: callers catching the builtin keep working.
    assert issubclass(KeyNotFound, NotFound) and issubclass(WalletNotFound, NotFound)
    assert issubclass(KeyNotFound, LookupError) and issubclass(BrokerSetupError, RuntimeError)
    assert (KeyNotFound.code, WalletNotFound.code, NotFound.code) == ("key_not_found", "wallet_not_found", "not_found")
    assert (Unavailable.code, Rejected.code, Bug.code) == ("service_unavailable", "invalid_request", "internal_error")


def test_db_classify_keeps_ours_and_maps_the_rest() -> None:
    ours = NotFound("x")
    assert db.classify(ours) is ours
    refused = db.classify(ConnectionRefusedError(111, "refused"))
    assert isinstance(refused, DatabaseUnavailable) and isinstance(refused.__cause__, ConnectionRefusedError)
    assert isinstance(db.classify(asyncpg.exceptions.ConnectionDoesNotExistError("gone")), DatabaseUnavailable)
    bug = db.classify(KeyError("k"))
    assert type(bug) is Bug and isinstance(bug.__cause__, KeyError)
    assert db.is_transient(DatabaseUnavailable()) and not db.is_transient(Bug())


def test_amqp_classify_maps_lost_channels_and_refusals_to_broker_unavailable() -> None:
    assert isinstance(amqp.classify(aio_pika.exceptions.ChannelInvalidStateError("closed")), BrokerUnavailable)
    assert isinstance(amqp.classify(aio_pika.exceptions.AMQPConnectionError("lost")), BrokerUnavailable)
    nack = aio_pika.exceptions.DeliveryError(None, spec.Basic.Nack(delivery_tag=1))
    assert isinstance(amqp.classify(nack), BrokerUnavailable)
    assert type(amqp.classify(ValueError("v"))) is Bug
    assert amqp.is_broker_transient(BrokerUnavailable())
