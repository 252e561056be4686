"""The AsyncAPI document: committed = generated, valid for the official parser, derived from the contracts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

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
TOOL = Path(__file__).resolve().parents[2] / "tools" / "asyncapi"
COMMITTED = "committed"


def committed() -> Json:
    doc: Json = json.loads(ASYNCAPI_FILE.read_text())
    return doc


def test_committed_document_matches_the_contracts() -> None:
    assert ASYNCAPI_FILE.read_text() == asyncapi.render(), "run `make schemas` and commit contracts/asyncapi.json"


def _set(path: str, value: object) -> Callable[[Json], None]:
    *parents, last = path.split("/")

    def mutate(doc: Json) -> None:
        node: Any = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _drop_title(doc: Json) -> None:
    del doc["info"]["title"]


def _foreign_message(doc: Json) -> None:
    doc["operations"]["publishEvent"]["messages"].append({"$ref": "#/channels/commands/messages/transfer"})


#: A mistake -> the error the validator must report for it: (code, path where it is).
MISTAKES: dict[str, tuple[Callable[[Json], None], str, str]] = {
    "info without a title": (_drop_title, "asyncapi-document-resolved", "info"),
    "an action AsyncAPI does not have": (
        _set("operations/sendCommand/action", "publish"),
        "asyncapi-document-resolved",
        "operations/sendCommand/action",
    ),
    "a pydantic $defs reference left in": (
        _set("components/schemas/TransferCommand/properties/payload", {"$ref": "#/$defs/Transfer"}),
        "invalid-ref",
        "components/schemas/TransferCommand/properties/payload/$ref",
    ),
    "an operation sending another channel's message": (
        _foreign_message,
        "asyncapi3-operation-messages-from-referred-channel",
        "operations/publishEvent/messages/",
    ),
    "an exchange type the amqp binding does not know": (
        _set("channels/events/bindings/amqp/exchange/type", "x-consistent-hash"),
        "asyncapi-document-resolved",
        "channels/events/bindings/amqp/exchange/type",
    ),
    "a payload schema that is no JSON Schema": (
        _set("components/schemas/Transfer/type", 5),
        "asyncapi-document-resolved",
        "components/schemas/Transfer/type",
    ),
}
BROKEN = "broken"


def _validate(documents: dict[str, Json], directory: Path) -> dict[str, list[Json]]:
    """Name -> the errors and warnings @asyncapi/parser reports on each document (one node run)."""
    node = shutil.which("node")
    if node is None or not (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI validator is not installed: run `make tools` (make venv and make test do)")
    files = {}
    for i, (name, doc) in enumerate(documents.items()):
        files[name] = directory / f"document-{i}.json"
        files[name].write_text(json.dumps(doc))
    run = subprocess.run(
        [node, "validate.mjs", *map(str, files.values())],
        cwd=TOOL,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    results = json.loads(run.stdout)
    return {
        name: [d for d in result["diagnostics"] if d["severity"] in ("error", "warning")]
        for name, result in zip(files, results, strict=True)
    }


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Json]]:
    """The validator's errors on the committed document, and on one copy with every mistake made
    (each at its own place: a parse takes seconds, so one copy instead of one per mistake)."""
    broken = committed()
    for mutate, _, _ in MISTAKES.values():
        mutate(broken)
    return _validate({COMMITTED: committed(), BROKEN: broken}, tmp_path_factory.mktemp("asyncapi"))


def test_the_asyncapi_parser_accepts_the_document(verdicts: dict[str, list[Json]]) -> None:
    assert verdicts[COMMITTED] == []


@pytest.mark.parametrize("mistake", MISTAKES)
def test_the_asyncapi_parser_refuses_a_mistake(verdicts: dict[str, list[Json]], mistake: str) -> None:
    _, code, path = MISTAKES[mistake]
    errors = [d for d in verdicts[BROKEN] if d["severity"] == "error"]
    assert any(d["code"] == code and d["path"].startswith(path) for d in errors), errors


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
