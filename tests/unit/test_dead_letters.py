"""How a dead command's headers become its reason, attempt count and original routing key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.topology import DEAD_LETTER_REASON_HEADER, DELIVERY_LIMIT
from ledger_cli.dead_letters import to_line
from ledger_common.dead_letters.commands import attempts, original_routing_key, reason
from ledger_common.dead_letters.model import DeadLetter, plain, preview, printable

WORKER_DEATH: dict[str, Any] = {
    DEAD_LETTER_REASON_HEADER: b"invalid JSON: duplicate key 'amount'",
    "x-ledger-original-routing-key": b"transfer",
}
BROKER_DEATH: dict[str, Any] = {
    "x-death": [
        {
            "count": 1,
            "reason": "delivery_limit",
            "queue": "ledger.commands.worker",
            "time": datetime(2026, 1, 1, tzinfo=UTC),
            "exchange": "ledger.commands",
            "routing-keys": ["deposit"],
        }
    ],
    "x-first-death-reason": "delivery_limit",
}


def test_worker_dead_letter_uses_its_headers() -> None:
    assert reason(WORKER_DEATH) == "invalid JSON: duplicate key 'amount'"
    assert attempts(WORKER_DEATH) == 1
    assert original_routing_key(WORKER_DEATH, "ignored") == "transfer"


def test_broker_dead_letter_uses_x_death() -> None:
    assert reason(BROKER_DEATH) == "broker: delivery_limit in ledger.commands.worker"
    assert attempts(BROKER_DEATH) == DELIVERY_LIMIT + 1  # delivered once, then redelivered up to the limit
    assert original_routing_key(BROKER_DEATH, "ledger.commands.worker") == "deposit"


def test_rejections_count_each_death() -> None:
    headers = {"x-death": [{"count": 3, "reason": "rejected", "queue": "q", "routing-keys": []}]}
    assert attempts(headers) == 3 and reason(headers) == "broker: rejected in q"
    assert original_routing_key(headers, "fallback") == "fallback"


def test_headers_without_death_information() -> None:
    assert attempts({}) == 1 and reason({}).startswith("unknown") and original_routing_key({}, None) == ""


def test_hostile_bytes_are_escaped_for_terminals() -> None:
    assert preview(b"\x1b[2J\xff ok", 48) == "\\x1b[2J\\xff ok"
    assert preview(b"x" * 60, 48) == "x" * 48 + "…"
    letter = DeadLetter("commands", "id\nforged line", "rk", "why\tnot", 1, 3, "abc")
    assert "\n" not in to_line(letter) and "id\\nforged line" in to_line(letter)
    assert printable("caf\u00e9 \u202e") == "caf\u00e9 \\u202e"


def test_plain_makes_amqp_values_json_ready() -> None:
    assert plain({"t": datetime(2026, 1, 1, tzinfo=UTC), "b": b"\xff", "l": (1, b"x")}) == {
        "t": "2026-01-01T00:00:00+00:00",
        "b": "\\xff",
        "l": [1, "x"],
    }
