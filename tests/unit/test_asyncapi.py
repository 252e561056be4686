"""The AsyncAPI document: committed = generated, derived from the contracts."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from contracts import asyncapi
from contracts.commands import COMMAND_CLASSES
from contracts.events import EVENT_TYPES
from contracts.export import ASYNCAPI_FILE, SCHEMA_DIR
from contracts.keys import KEY_EVENT_TYPES
from contracts.signing import sign
from contracts.topology import DEAD_LETTER_REASON_HEADER, ORIGINAL_ROUTING_KEY_HEADER, Topology
from http_gateway.app import create_app
from ledger_common.settings import Settings

Json = dict[str, Any]


def committed() -> Json:
    doc: Json = json.loads(ASYNCAPI_FILE.read_text())
    return doc


def test_committed_document_matches_the_contracts() -> None:
    assert ASYNCAPI_FILE.read_text() == asyncapi.render(), "run `make schemas` and commit contracts/asyncapi.json"


def test_command_payloads_are_the_envelope_schemas() -> None:
    """Each message's payload is the committed envelope schema, its ``$defs`` moved to the components."""
    schemas = committed()["components"]["schemas"]
    for kind, cls in COMMAND_CLASSES.items():
        on_disk = json.loads((SCHEMA_DIR / f"command.{kind}.v1.json").read_text().replace("#/$defs/", asyncapi.SCHEMAS))
        for name, schema in on_disk.pop("$defs", {}).items():
            assert schemas[name] == schema, (kind, name)
        assert schemas[cls.__name__] == on_disk, kind
        message = committed()["components"]["messages"][f"command.{kind}"]
        assert message["payload"] == {"$ref": asyncapi.SCHEMAS + cls.__name__}


def test_every_event_type_has_its_signed_message() -> None:
    doc = committed()
    channel = doc["channels"]["events"]
    types = [*EVENT_TYPES, *KEY_EVENT_TYPES]
    assert list(channel["messages"]) == types == channel["parameters"]["eventType"]["enum"]
    schema = doc["components"]["schemas"]["EventSignatureHeaders"]
    signed = sign(routing_key="wallet.created", message_id="e-1", message_type="wallet.created", body=b"{}",
                  keys={"k1": b"secret"})  # fmt: skip
    assert set(schema["required"]) == set(signed)  # the headers the relay sets, and match their schema
    assert all(re.fullmatch(schema["properties"][name].get("pattern", ".+"), value) for name, value in signed.items())
    for kind in types:
        message = doc["components"]["messages"][f"event.{kind}"]
        assert message["bindings"]["amqp"]["messageType"] == kind
        assert message["x-ledger-properties"] == {"message_id": "$message.payload#/event_id"}


def test_dead_letters_carry_the_worker_headers() -> None:
    doc = committed()
    headers = doc["components"]["schemas"]["DeadLetterHeaders"]
    assert headers["required"] == [DEAD_LETTER_REASON_HEADER, ORIGINAL_ROUTING_KEY_HEADER]
    assert doc["channels"]["deadLetters"]["address"] == Topology().commands_dead_queue


def test_bindings_are_the_topology_definitions() -> None:
    channels = committed()["channels"]
    definitions = Topology().definitions("/")
    queues = {q["name"]: q for q in definitions["queues"]}
    for name in ("commandQueue", "deadLetters"):
        amqp = channels[name]["bindings"]["amqp"]
        assert amqp["x-arguments"] == queues[amqp["queue"]["name"]]["arguments"]
        assert amqp["x-arguments"]["x-queue-type"] == "quorum"
    exchanges = {e["name"]: e["type"] for e in definitions["exchanges"]}
    for name in ("commands", "events", "deadLetterExchange"):
        exchange = channels[name]["bindings"]["amqp"]["exchange"]
        assert exchanges[exchange["name"]] == exchange["type"]


def test_a_namespace_prefixes_every_name() -> None:
    channels = asyncapi.document(Topology("acme."))["channels"]
    amqp = [c["bindings"]["amqp"] for c in channels.values()]
    names = [b["queue"]["name"] if b["is"] == "queue" else b["exchange"].get("name", "") for b in amqp]
    assert [n for n in names if not n.startswith("acme.ledger.")] == [""]  # the default exchange of the replies


async def test_the_gateway_serves_it_beside_openapi() -> None:
    app = create_app(Settings(ledger_namespace="acme."))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        served = await http.get("/asyncapi.json")  # no credentials: public like /openapi.json
        openapi = (await http.get("/openapi.json")).json()
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert served.json() == asyncapi.document(Topology("acme."))
    assert "/asyncapi.json" not in openapi["paths"]
