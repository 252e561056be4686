"""The SDK covers the HTTP API: every route of the gateway's OpenAPI document has exactly one method, in
both clients, which have the same surface; and the SDK's exported names are pinned."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import ledger_sdk
from contracts.results import Refusal
from http_gateway.app import create_app
from ledger_common.settings import Settings
from ledger_sdk import AsyncClient, Client
from tools.sdk_generate import class_name


def methods(client: type[Any]) -> Iterator[tuple[str, str, tuple[str, str]]]:
    """(resource attribute, method name, (HTTP method, path)) of every routed method of a client."""
    instance = client("http://127.0.0.1:1", api_key="x")
    for resource, value in vars(instance).items():
        if resource.startswith("_") or not hasattr(value, "_client"):
            continue
        for name, fn in inspect.getmembers(type(value), inspect.isfunction):
            found = getattr(fn, "__ledger_route__", None)
            if found is not None:
                yield resource, name, found


def _served() -> set[tuple[str, str]]:
    document = create_app(Settings()).openapi()
    return {(m.upper(), path) for path, ops in document["paths"].items() for m in ops}


def test_every_route_of_the_openapi_document_has_one_method() -> None:
    for client in (Client, AsyncClient):
        routes = [r for _, _, r in methods(client)]
        assert len(routes) == len(set(routes)), "two methods call one route"
        assert set(routes) == _served(), (sorted(_served() - set(routes)), sorted(set(routes) - _served()))


def test_the_sync_and_async_clients_have_the_same_surface() -> None:
    def surface(client: type[Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for resource, name, found in methods(client):
            fn = getattr(getattr(client("http://127.0.0.1:1", api_key="x"), resource), name)
            params = [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
            out[f"{resource}.{name}"] = (found, params)
        return out

    assert surface(Client) == surface(AsyncClient)


def test_the_generated_files_are_current() -> None:
    from tools.sdk_generate import main

    assert main(["--check"]) == 0, "run python tools/sdk_generate.py"


def test_each_refusal_has_its_class_and_the_exports_are_pinned() -> None:
    refusals = {class_name(r) for r in Refusal}
    assert refusals <= set(ledger_sdk.__all__)
    assert set(ledger_sdk.__all__) - refusals == {
        "APIError", "AccountRef", "Amount", "AsyncClient", "AsyncOperation", "AsyncPager", "AuthenticationError",
        "CallOptions", "Client", "CommandPending", "CommandResult", "Conflict", "ConnectError", "InvalidRequest",
        "LedgerError", "Leg", "NotFound", "NotFoundError", "Operation", "Pager", "Party", "PermissionDenied",
        "RateLimited", "Refusal", "Refused", "Rejected", "RequestTimeout", "ServerError", "ServiceUnavailable",
        "TransportError", "Unavailable", "account",
    }  # fmt: skip
    for name in ledger_sdk.__all__:
        assert hasattr(ledger_sdk, name), name


def test_the_amqp_helpers_exports_are_pinned() -> None:
    import ledger_sdk.amqp

    assert set(ledger_sdk.amqp.__all__) == {
        "CommandPublisher", "EventStore", "EventSubscriber", "GapHandler", "Handler", "KeyHandler", "LogHandler",
        "LogKeyHandler", "LogReader", "MemoryEventStore", "Order", "PublishNotConfirmed", "ReaderBehind",
        "ReplyTimeout", "Stalls", "Start", "order", "stream_of",
    }  # fmt: skip
    for name in ledger_sdk.amqp.__all__:
        assert hasattr(ledger_sdk.amqp, name), name


def test_each_operation_id_is_the_sdk_method_that_calls_its_route() -> None:
    """``transfers.create`` is ``client.transfers.create``: the document and the SDK name an operation alike."""
    document = create_app(Settings()).openapi()
    ids = {(m.upper(), path): op["operationId"] for path, ops in document["paths"].items() for m, op in ops.items()}
    sdk = {found: f"{resource}.{name}" for resource, name, found in methods(Client)}
    assert ids == sdk
    assert len(set(ids.values())) == len(ids), "an operationId twice"


def test_the_command_methods_take_the_route_bodies_fields() -> None:
    """Each command method's keyword arguments are its route's body fields, a party as one argument (generated
    from the same plan as the gateway's route: tools/sdk_commands.py)."""
    from contracts.catalogue import COMMANDS
    from contracts.refs import parties
    from http_gateway.bodies import plan
    from tools.sdk_commands import PARTY_NAMES

    client = Client("http://127.0.0.1:1", api_key="x")
    for spec in COMMANDS:
        for route in spec.routes:
            p = plan(spec, route)
            resource, action = route.operation.split(".")
            fn = getattr(getattr(client, resource), action)
            params = inspect.signature(fn).parameters
            named = {
                f: party.name for party in parties(spec.payload) for f in (party.account_field, party.wallet_field)
            }
            aliases = PARTY_NAMES.get(route.operation, {})
            expected = {aliases.get(named[f], named[f]) if f in named else f for f in p.fields}
            positional = [n for n, v in params.items() if v.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
            keywords = {n for n, v in params.items() if v.kind is inspect.Parameter.KEYWORD_ONLY}
            assert positional == list(route.params), route.operation
            assert keywords == expected, route.operation
