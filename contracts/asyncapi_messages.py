"""The messages and schemas of the AsyncAPI document (``contracts.asyncapi``), from the contracts.

Commands: one message per catalogue type, its payload the envelope's JSON Schema. Events: one per
``contracts.events.PAYLOADS`` type and ``contracts.keys.KEY_EVENT_TYPES``, the envelope narrowed to the
type and its payload model. The reply, and the two kinds of dead letter. Schemas are the models'
pydantic JSON Schemas under one shared set of names, their ``$defs`` moved to ``#/components/schemas``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.catalogue import COMMANDS, CommandSpec
from contracts.commands import COMMAND_CLASSES, envelope_name
from contracts.events import PAYLOADS, EventEnvelope
from contracts.keys import KEY_EVENT_TYPES, KeyEvent
from contracts.publishing import properties_schema
from contracts.results import CommandResult
from contracts.signing import KEY_ID_HEADER, SIGNATURE_HEADER, SIGNATURE_PATTERN, SIGNED_AT_HEADER
from contracts.topology import (
    DEAD_LETTER_REASON_HEADER,
    LOGGED_AT_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER,
    POSITION_HEADER,
)

Json = dict[str, Any]

BINDING_VERSION = "0.3.0"  # of the amqp bindings
SCHEMAS = "#/components/schemas/"
#: The AMQP ``type`` property of the worker's replies (ledger_worker.consumer sets it).
REPLY_MESSAGE_TYPE = "command.result"
#: Component message names, by their key in the channels.
COMMAND_MESSAGES = {spec.type: f"command.{spec.type}" for spec in COMMANDS}
EVENT_MESSAGES = {kind: f"event.{kind}" for kind in (*PAYLOADS, *KEY_EVENT_TYPES)}
#: The same events as the event log stream carries them (with their position).
LOG_MESSAGES = {kind: f"log.{kind}" for kind in EVENT_MESSAGES}
DEAD_LETTER_MESSAGES = {"rejected": "deadLetter.rejected", "deliveryLimit": "deadLetter.deliveryLimit"}
REPLY_MESSAGES = {"commandResult": "commandResult"}


def ref(*parts: str) -> Json:
    return {"$ref": "#/" + "/".join(parts)}


def amqp(**fields: Any) -> Json:
    """An ``amqp`` bindings object of the binding version used throughout."""
    return {"amqp": {**fields, "bindingVersion": BINDING_VERSION}}


def schemas() -> Json:
    """Every model's JSON Schema and the schemas they use, then the header schemas."""
    models: list[type[BaseModel]] = [*COMMAND_CLASSES.values(), EventEnvelope, KeyEvent, CommandResult]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=SCHEMAS + "{model}")
    found: Json = dict(sorted(defs["$defs"].items()))
    found["EventSignatureHeaders"] = _headers(
        "Set by the relay on every event: an HMAC-SHA-256 over the routing key, message_id, type, signing time "
        "and body (contracts.signing, docs/security.md#signed-events). With tracing on, also the W3C trace "
        "context of the relay's publish span (not signed), continuing the command's trace.",
        {
            KEY_ID_HEADER: {"type": "string", "description": "Id of the signing key (EVENT_SIGNING_KEYS)."},
            SIGNED_AT_HEADER: {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "description": "Unix seconds."},
            SIGNATURE_HEADER: {"type": "string", "pattern": SIGNATURE_PATTERN, "description": "v2=<hex HMAC>."},
        },
        optional=TRACE_HEADERS,
    )
    signature = found["EventSignatureHeaders"]
    found["LogHeaders"] = _headers(
        "Every event in the event log stream: the signature headers, the event's log position and when it was "
        "logged; RabbitMQ adds the stream offset to each delivery. A position is the ledger's (the same one "
        "GET /v1/events gives); after a relay crash a position may come again at a later offset: skip any at or "
        "below the last one handled.",
        {
            **{k: signature["properties"][k] for k in signature["required"]},
            POSITION_HEADER: {"type": "integer", "minimum": 1, "description": "The log position: 1, 2, 3 … no gaps."},
            LOGGED_AT_HEADER: {"type": "integer", "description": "When it was logged: milliseconds since 1970, UTC."},
        },
        optional={
            "x-stream-offset": {"type": "integer", "description": "Set by RabbitMQ on delivery: the stream offset."},
            **TRACE_HEADERS,
        },
    )
    found["CommandProperties"] = properties_schema()
    found["CommandHeaders"] = _headers(
        "Optional: a publisher's W3C trace context; the worker's span for the command continues it.", {}, TRACE_HEADERS
    )
    found["DeadLetterHeaders"] = _headers(
        "The original headers, and two the worker adds when it dead-letters a message that is no command.",
        {
            DEAD_LETTER_REASON_HEADER: {"type": "string", "description": "Why, e.g. `invalid JSON: duplicate key`."},
            ORIGINAL_ROUTING_KEY_HEADER: {"type": "string", "description": "The routing key it was published with."},
        },
    )
    found["DeliveryLimitHeaders"] = _headers(
        "The original headers and RabbitMQ's `x-death` (a command that failed its delivery limit).",
        {"x-death": {"type": "array", "items": {"type": "object"}, "description": "RabbitMQ's dead-letter record."}},
    )
    return found


def _headers(description: str, properties: Json, optional: Json | None = None) -> Json:
    """Every one of ``properties`` required, ``optional`` may be there."""
    every = {**properties, **(optional or {})}
    return {"type": "object", "description": description, "properties": every, "required": list(properties)}


#: W3C Trace Context (https://www.w3.org/TR/trace-context/), as HTTP carries it, in AMQP headers.
TRACE_HEADERS: Json = {
    "traceparent": {
        "type": "string",
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "W3C traceparent: version-trace_id-span_id-flags.",
    },
    "tracestate": {"type": "string", "description": "W3C tracestate, passed on with traceparent."},
}


def _command(spec: CommandSpec) -> Json:
    if spec.internal:
        sent = "The ledger's own: its sweeper applies it without the broker; the worker accepts it like any command."
    else:
        routes = ", ".join(f"`{r.method} {r.path}`" for r in spec.routes)
        sent = (
            f"Needs the `{spec.scope}` scope: the publisher's over AMQP (`ledger publishers create|grant NAME --scope "
            f"{spec.scope}`), an API key's over HTTP ({routes})."
        )
    return {
        "name": spec.type,
        "title": envelope_name(spec),
        "summary": spec.summary.replace("``", "`"),
        "description": f"Routing key `{spec.type}`. {sent} AMQP properties: x-amqp-properties (`user_id` required).",
        "contentType": "application/json",
        "headers": {"$ref": SCHEMAS + "CommandHeaders"},
        "payload": {"$ref": SCHEMAS + envelope_name(spec)},
        "correlationId": ref("components", "correlationIds", "command"),
        "x-ledger-properties": {"message_id": "$message.payload#/command_id"},
        "x-amqp-properties": {"$ref": SCHEMAS + "CommandProperties"},
    }


def _event(kind: str, *, log: bool = False) -> Json:
    envelope, payload = (KeyEvent, None) if kind in KEY_EVENT_TYPES else (EventEnvelope, PAYLOADS[kind])
    narrowed: Json = {"type": {"const": kind}}
    if payload is not None:
        narrowed["payload"] = {"$ref": SCHEMAS + payload.__name__}
    return {
        "name": kind,
        "title": f"{kind} event",
        "summary": f"Routing key and AMQP type `{kind}`; {(payload or envelope).__name__} payload.",
        "contentType": "application/json",
        "headers": {"$ref": SCHEMAS + ("LogHeaders" if log else "EventSignatureHeaders")},
        "payload": {"allOf": [{"$ref": SCHEMAS + envelope.__name__}, {"type": "object", "properties": narrowed}]},
        "bindings": amqp(messageType=kind),
        "x-ledger-properties": {"message_id": "$message.payload#/event_id"},
    }


def messages() -> Json:
    """The component messages, by name."""
    original = "The original body byte for byte, with its content_type and message_id (it may not be JSON at all)."
    return {
        **{COMMAND_MESSAGES[spec.type]: _command(spec) for spec in COMMANDS},
        **{name: _event(kind) for kind, name in EVENT_MESSAGES.items()},
        **{name: _event(kind, log=True) for kind, name in LOG_MESSAGES.items()},
        "commandResult": {
            "name": REPLY_MESSAGE_TYPE,
            "title": "CommandResult",
            "summary": (CommandResult.__doc__ or "").replace("``", "`"),
            "description": "Sent to the command's reply_to queue through the default exchange; not persistent.",
            "contentType": "application/json",
            "payload": {"$ref": SCHEMAS + "CommandResult"},
            "correlationId": ref("components", "correlationIds", "command"),
            "bindings": amqp(messageType=REPLY_MESSAGE_TYPE),
        },
        "deadLetter.rejected": {
            "name": "dead-letter.rejected",
            "title": "Rejected command",
            "summary": "A message the worker could not read as a command, republished with the reason; acked.",
            "headers": {"$ref": SCHEMAS + "DeadLetterHeaders"},
            "payload": {"description": original},
        },
        "deadLetter.deliveryLimit": {
            "name": "dead-letter.delivery-limit",
            "title": "Command past its delivery limit",
            "summary": "A command RabbitMQ dead-lettered after the worker queue's x-delivery-limit redeliveries.",
            "headers": {"$ref": SCHEMAS + "DeliveryLimitHeaders"},
            "payload": {"description": original},
        },
    }
