"""The AsyncAPI document carries every property, permission and scope a command publisher needs, read from
the declaration (contracts.publishing, contracts.permissions), and the docs say the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contracts import asyncapi
from contracts.asyncapi_messages import COMMAND_MESSAGES
from contracts.catalogue import COMMANDS
from contracts.permissions import publisher_grant, publisher_pattern, reply_queue_prefix
from contracts.publishing import COMMAND_PROPERTIES, FORGED_USER_ID, MISSING_USER_ID, PUBLISHER
from contracts.topology import Topology
from ledger_worker import consumer

ROOT = Path(__file__).resolve().parents[2]
Json = dict[str, Any]


def _resolve(doc: Json, node: Json) -> Json:
    found: Any = doc
    for part in node["$ref"].removeprefix("#/").split("/"):
        found = found[part]
    assert isinstance(found, dict)
    return found


@pytest.fixture(params=["", "acme."], ids=["no namespace", "namespaced"])
def doc(request: pytest.FixtureRequest) -> Json:
    document: Json = json.loads(asyncapi.render(Topology(request.param)))
    return document


def test_every_command_message_declares_each_amqp_property(doc: Json) -> None:
    for spec in COMMANDS:
        message = doc["components"]["messages"][COMMAND_MESSAGES[spec.type]]
        props = _resolve(doc, message["x-amqp-properties"])
        assert list(props["properties"]) == [p.name for p in COMMAND_PROPERTIES]
        assert props["required"] == [p.name for p in COMMAND_PROPERTIES if p.required]
        for p in COMMAND_PROPERTIES:
            assert props["properties"][p.name]["description"] == p.description
        if not spec.internal:
            assert f"`{spec.scope}`" in message["description"] and "publishers" in message["description"]


def test_user_id_is_required_and_what_happens_without_it_or_forged_is_said(doc: Json) -> None:
    props = doc["components"]["schemas"]["CommandProperties"]
    assert "user_id" in props["required"]
    said = props["properties"]["user_id"]["description"]
    assert MISSING_USER_ID in said and FORGED_USER_ID in said and "channel" in FORGED_USER_ID
    assert consumer._NO_USER == MISSING_USER_ID  # the reason the worker really writes
    assert FORGED_USER_ID in doc["components"]["securitySchemes"]["brokerUser"]["description"]


def test_replies_correlation_and_permissions(doc: Json) -> None:
    namespace = doc["channels"]["commands"]["title"].removesuffix("ledger.commands")
    props = doc["components"]["schemas"]["CommandProperties"]["properties"]
    assert reply_queue_prefix(PUBLISHER) in props["reply_to"]["description"]
    assert reply_queue_prefix(PUBLISHER) in doc["channels"]["replies"]["description"]
    assert "correlation_id" in props and "command_id" in props["correlation_id"]["description"]
    send = doc["operations"]["sendCommand"]
    granted = send["x-ledger-permissions"]["vhostPermissions"]
    pattern = publisher_pattern(namespace, PUBLISHER)
    assert granted == {"configure": pattern.configure, "write": pattern.write, "read": pattern.read}
    real = publisher_grant(namespace, "orders")  # what `ledger publishers create orders` sets
    assert (real.configure, real.write) == (pattern.configure.replace("P", "orders", 1), pattern.write)
    assert "ledger publishers create" in send["x-ledger-permissions"]["brokerUser"]


def test_the_docs_list_the_missing_user_id_dead_letter_reason() -> None:
    topology = " ".join((ROOT / "docs" / "topology.md").read_text(encoding="utf-8").split())  # lines rewrapped
    assert MISSING_USER_ID in topology
    assert "closes the whole channel" in topology
