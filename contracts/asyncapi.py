"""The AsyncAPI 3.0 document of the AMQP interface, derived from the contracts, never written by hand.

Channels, their AMQP bindings (exchange types, queue arguments such as ``x-queue-type: quorum``, what
is bound to what) come from ``contracts.topology.Topology.definitions``; the messages and schemas from
the catalogue, the events, the results and the headers (``contracts.asyncapi_messages``); operations
say who sends and who receives what: publishers (and the gateway), the worker, the relay, subscribers
and the operator. ``make schemas`` commits the rendering as ``contracts/asyncapi.json``
(tests/unit/test_asyncapi.py checks it, and validates it with the official AsyncAPI parser); the
gateway serves it with its own namespace at ``GET /asyncapi.json``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from contracts.asyncapi_messages import (
    COMMAND_MESSAGES,
    DEAD_LETTER_MESSAGES,
    EVENT_MESSAGES,
    LOG_MESSAGES,
    REPLY_MESSAGES,
    SCHEMAS,
    Json,
    amqp,
    messages,
    ref,
    schemas,
)
from contracts.catalogue import COMMANDS
from contracts.permissions import reply_queue_prefix
from contracts.publishing import FORGED_USER_ID, PUBLISHER, publisher_permissions
from contracts.topology import Topology

__all__ = ["SCHEMAS", "document", "render"]

ASYNCAPI_VERSION = "3.0.0"
PERSISTENT = 2

ROLES = {
    "publisher": "Upstream services and the HTTP gateway: send commands, receive their results.",
    "worker": "ledger-worker: applies commands, replies, dead-letters what is not a command.",
    "relay": "outbox-relay: publishes each committed event, signed, in per-stream order.",
    "subscriber": "Downstream services: bind their own queues to ledger.events, or read the event log stream.",
    "operator": "`ledger dlq list` / `ledger dlq replay`: inspects and replays dead-lettered commands.",
}


def _in_channel(keys: dict[str, str]) -> Json:
    """Channel messages: key in the channel -> reference to the component message."""
    return {key: ref("components", "messages", name) for key, name in keys.items()}


def _by_type(address: str, name: str, what: str, keys: dict[str, str], bindings: Json) -> Json:
    """A channel whose address is the routing key, the ``type`` of each message."""
    return {
        "address": "{" + address + "}",
        "title": name,
        "description": f"{what}, published to the `{name}` exchange with routing key = type.",
        "parameters": {
            address: {"enum": list(keys), "location": "$message.payload#/type", "description": "The message's type."}
        },
        "messages": _in_channel(keys),
        "bindings": bindings,
    }


def _channel(address: str | None, name: str, description: str, keys: dict[str, str], bindings: Json) -> Json:
    return {
        "address": address,
        "title": name,
        "description": description,
        "messages": _in_channel(keys),
        "bindings": bindings,
    }


def _exchange(entity: Json) -> Json:
    exchange = {"name": entity["name"], "type": entity["type"], "durable": entity["durable"]}
    return amqp(**{"is": "routingKey", "exchange": {**exchange, "autoDelete": entity["auto_delete"]}})


def _queue(entity: Json, bindings: list[Json]) -> Json:
    queue = {"name": entity["name"], "durable": entity["durable"], "autoDelete": entity["auto_delete"]}
    mine = [b for b in bindings if b["destination"] == entity["name"]]
    bound = [{"exchange": b["source"], "routingKey": b["routing_key"]} for b in mine]
    return amqp(**{"is": "queue", "queue": queue, "x-arguments": entity["arguments"], "x-bound-to": bound})


def channels(t: Topology) -> Json:
    entities = t.definitions(vhost="/")
    exchanges = {e["name"]: _exchange(e) for e in entities["exchanges"]}
    queues = {q["name"]: _queue(q, entities["bindings"]) for q in entities["queues"]}
    default_exchange = amqp(**{"is": "routingKey", "exchange": {"type": "default"}})
    return {
        "commands": _by_type(
            "commandType", t.commands_exchange, "Commands", COMMAND_MESSAGES, exchanges[t.commands_exchange]
        ),
        "commandQueue": _channel(
            t.commands_queue,
            t.commands_queue,
            "The workers' shared quorum queue.",
            COMMAND_MESSAGES,
            queues[t.commands_queue],
        ),
        "replies": _channel(
            None,
            "reply_to",
            "The queue a command names in reply_to (the envelope's, else the AMQP property), via the default exchange: "
            f"for publisher {PUBLISHER}, `{reply_queue_prefix(PUBLISHER)}<anything>`, exclusive and auto-delete.",
            REPLY_MESSAGES,
            default_exchange,
        ),
        "events": _by_type("eventType", t.events_exchange, "Events", EVENT_MESSAGES, exchanges[t.events_exchange]),
        "deadLetterExchange": _channel(
            None,
            t.commands_dlx,
            "Dead-letter exchange of the command queue (fanout; the routing key is the original one).",
            DEAD_LETTER_MESSAGES,
            exchanges[t.commands_dlx],
        ),
        "deadLetters": _channel(
            t.commands_dead_queue,
            t.commands_dead_queue,
            "Dead-lettered commands, kept for an operator.",
            DEAD_LETTER_MESSAGES,
            queues[t.commands_dead_queue],
        ),
        "logExchange": _channel(
            None,
            t.log_exchange,
            "Fanout exchange of the event log: its one binding is the log stream. Only the relay publishes here.",
            LOG_MESSAGES,
            exchanges[t.log_exchange],
        ),
        "log": _channel(
            t.log_stream,
            t.log_stream,
            "The event log: a RabbitMQ stream of every event in position order (x-ledger-position 1, 2, 3 …), "
            "kept for its retention (x-max-age, x-max-length-bytes; whole segments are dropped). Read it with "
            "basic.qos (a prefetch) and basic.consume argument x-stream-offset: first, last, next, an offset or a "
            "timestamp. Positions are the ledger's: the same ones GET /v1/events gives.",
            LOG_MESSAGES,
            queues[t.log_stream],
        ),
    }


def _operation(action: str, channel: str, role: str, keys: list[str], summary: str, **extra: Any) -> Json:
    return {
        "action": action,
        "channel": ref("channels", channel),
        "summary": summary,
        "tags": [ref("components", "tags", role)],
        "messages": [ref("channels", channel, "messages", key) for key in keys],
        **extra,
    }


def operations(t: Topology) -> Json:
    reply = ref("components", "replies", "commandResult")
    public = [spec.type for spec in COMMANDS if not spec.internal]
    every, events, dead = list(COMMAND_MESSAGES), list(EVENT_MESSAGES), list(DEAD_LETTER_MESSAGES)
    logged = list(LOG_MESSAGES)
    persistent, acked = amqp(deliveryMode=PERSISTENT), amqp(ack=True)
    op = _operation
    return {
        "sendCommand": op(
            "send",
            "commands",
            "publisher",
            public,
            "Send a command; its result is the reply. Set the AMQP user_id property (see each message's "
            "x-amqp-properties).",
            reply=reply,
            bindings=persistent,
            **{"x-ledger-permissions": publisher_permissions(t.namespace)},
        ),
        "receiveCommand": op(
            "receive",
            "commandQueue",
            "worker",
            every,
            "Apply each command once per command_id and reply with its outcome.",
            reply=reply,
            bindings=acked,
        ),
        "deadLetterCommand": op(
            "send",
            "deadLetterExchange",
            "worker",
            ["rejected"],
            "Republish a message that is no valid command, then ack it.",
            bindings=persistent,
        ),
        "receiveDeadLetter": op(
            "receive", "deadLetters", "operator", dead, "List or replay dead-lettered commands.", bindings=acked
        ),
        "publishEvent": op(
            "send",
            "events",
            "relay",
            events,
            "Publish each committed event.",
            bindings=amqp(deliveryMode=PERSISTENT, mandatory=False),
        ),
        "receiveEvent": op(
            "receive",
            "events",
            "subscriber",
            events,
            "Consume events at least once; deduplicate on event_id.",
            bindings=acked,
        ),
        "publishLog": op(
            "send",
            "logExchange",
            "relay",
            logged,
            "Publish the event log in position order, one relay at a time, continuing after the stream's last "
            "position when it takes over (so a crash does not publish an event twice).",
            bindings=persistent,
        ),
        "readLog": op(
            "receive",
            "log",
            "subscriber",
            logged,
            "Read from the beginning, a time, a position or now, then live: handle position n + 1 after n, skip any "
            "at or below the last handled (published again after a relay crash). If the oldest position the stream "
            "keeps is above the one needed next, retention dropped events: read them over GET /v1/events.",
            bindings=acked,
        ),
    }


def components() -> Json:
    return {
        "schemas": schemas(),
        "messages": messages(),
        "correlationIds": {
            "command": {
                "location": "$message.header#/correlation_id",
                "description": "The AMQP correlation_id; a reply carries the envelope's correlation_id, "
                "else the command's correlation_id property, else the command_id.",
            }
        },
        "replies": {
            "commandResult": {
                "address": {
                    "location": "$message.header#/reply_to",
                    "description": "The envelope's reply_to, else the AMQP reply_to property.",
                },
                "channel": ref("channels", "replies"),
                "messages": [ref("channels", "replies", "messages", key) for key in REPLY_MESSAGES],
            }
        },
        "securitySchemes": {
            "brokerUser": {
                "type": "userPassword",
                "description": "A RabbitMQ user per role (`ledger broker-setup`; one publisher's: `ledger publishers "
                "create NAME --scope …`). A command's user_id property must be this user: a message without it "
                f"is dead-lettered; with another user's name {FORGED_USER_ID}.",
            }
        },
        "tags": {role: {"name": role, "description": text} for role, text in ROLES.items()},
    }


def document(topology: Topology | None = None) -> Json:
    """The AsyncAPI document; ``topology`` names the entities (``Topology()``: no namespace)."""
    t = topology or Topology()
    prefix = f" Every name carries the namespace prefix `{t.namespace}`." if t.namespace else ""
    server = {
        "host": "{host}",
        "protocol": "amqp",
        "protocolVersion": "0.9.1",
        "description": "The RabbitMQ of AMQP_URL; the vhost is the URL's path.",
        "variables": {"host": {"default": "localhost:5672", "description": "host:port of AMQP_URL"}},
        "security": [ref("components", "securitySchemes", "brokerUser")],
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Ledger AMQP interface",
            "version": "1",
            "description": "Commands in, replies and events out, over RabbitMQ; generated from the contracts "
            f"(contracts/asyncapi.py). Prose: docs/topology.md.{prefix}",
        },
        "defaultContentType": "application/json",
        "servers": {"broker": server},
        "channels": channels(t),
        "operations": operations(t),
        "components": components(),
    }


@functools.cache
def render(topology: Topology | None = None) -> str:
    """The document as committed (``contracts/asyncapi.json``) and served."""
    return json.dumps(document(topology), indent=2, ensure_ascii=False) + "\n"
