"""The probe port (ledger_common/probes.py) answers its three routes, refuses garbage, and the worker's
per-batch counting (ledger_common/metrics.count_results) adds up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from contracts.results import CommandResult, Refusal
from ledger_common import metrics
from ledger_common.probes import ProbeServer, Progress


async def _ask(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def _healthy() -> tuple[bool, dict[str, object]]:
    return True, {"database": True}


async def _unready() -> tuple[bool, dict[str, object]]:
    return False, {"database": False}


@pytest.fixture
async def port() -> AsyncIterator[int]:
    server = ProbeServer(live=_healthy, ready=_unready)
    yield await server.start("127.0.0.1", 0)
    await server.close()


async def test_probes_answer_with_their_status(port: int) -> None:
    status, body = await _ask(port, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": True})
    status, body = await _ask(port, b"GET /readyz?verbose=1 HTTP/1.1\r\n\r\n")
    assert (status, json.loads(body)["status"]) == (503, "unavailable")
    status, body = await _ask(port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert status == 200 and b"ledger_db_pool_max_connections" in body
    assert (await _ask(port, b"HEAD /livez HTTP/1.1\r\n\r\n")) == (200, b"")


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /nope HTTP/1.1\r\n\r\n", 404),
        (b"POST /livez HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 405),
        (b"\x00\xff garbage\r\n\r\n", 400),
        (b"GET /livez\r\n\r\n", 400),  # HTTP/0.9 style: no version
        (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n", 400),  # longer than a line may be
        (b"GET /livez HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", 400),  # too many headers
    ],
)
async def test_garbage_gets_an_error_not_a_crash(port: int, raw: bytes, status: int) -> None:
    assert (await _ask(port, raw))[0] == status
    assert (await _ask(port, b"GET /livez HTTP/1.1\r\n\r\n"))[0] == 200  # and the server still serves


async def test_a_client_that_sends_nothing_is_let_go() -> None:
    server = ProbeServer(live=_healthy, ready=_healthy)
    port = await server.start("127.0.0.1", 0)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)  # says nothing: the timeout closes it
        assert (await _ask(port, b"GET /readyz HTTP/1.1\r\n\r\n"))[0] == 200
        writer.close()
    finally:
        await server.close()


async def test_a_failing_check_is_unhealthy() -> None:
    async def broken() -> tuple[bool, dict[str, object]]:
        raise RuntimeError("boom")

    server = ProbeServer(live=broken, ready=_healthy)
    port = await server.start("127.0.0.1", 0)
    try:
        status, body = await _ask(port, b"GET /livez HTTP/1.1\r\n\r\n")
        assert (status, json.loads(body)) == (503, {"status": "unavailable", "error": "RuntimeError"})
    finally:
        await server.close()


def test_progress_measures_the_oldest_unit_of_work() -> None:
    progress = Progress()
    assert progress.longest() == 0.0
    with progress.working(), progress.working():
        assert progress.longest() >= 0.0
    assert progress.longest() == 0.0


def _count(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("ledger_commands_total", {"type": kind, "outcome": outcome}) or 0.0


def test_a_batch_is_counted_by_type_outcome_and_refusal() -> None:
    def result(status: str, *, refusal: Refusal | None = None, replayed: bool = False) -> CommandResult:
        return CommandResult(command_id="c", command_type="refund", status=status, refusal=refusal, replayed=replayed)

    before = {o: _count("refund", o) for o in metrics.OUTCOMES}
    refusals = REGISTRY.get_sample_value("ledger_command_refusals_total", {"refusal": "insufficient_funds"}) or 0.0
    funds = Refusal.INSUFFICIENT_FUNDS
    metrics.count_results(
        [
            result("applied"),
            result("applied"),
            result("refused", refusal=funds),
            result("refused", refusal=funds, replayed=True),
        ]
    )
    assert {o: _count("refund", o) - before[o] for o in metrics.OUTCOMES} == {"applied": 2, "refused": 1, "replayed": 1}
    after = REGISTRY.get_sample_value("ledger_command_refusals_total", {"refusal": "insufficient_funds"})
    assert after == refusals + 1  # a replayed refusal was counted when it was refused
    metrics.configure(False)
    try:
        metrics.count_results([result("applied")])
        assert _count("refund", "applied") - before["applied"] == 2
    finally:
        metrics.configure(True)
