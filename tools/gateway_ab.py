"""Two gateways side by side on one system: CPU per ``POST /v1/transfers`` of this code against another's.

``python tools/gateway_ab.py OTHER_DIR [--seconds 30] [--rounds 3] [--lanes 32] [--accounts 20000]``: a system of
the bench's own (database, namespace, a worker, a relay) with two gateways, this checkout's and one run from
``OTHER_DIR`` (a worktree of another commit: ``git worktree add /tmp/before <commit>``), both against the same
worker at the same time. The bench's HTTP client sends ``--lanes`` closed-loop lanes to each; each gateway's
CPU time (``/proc``) is read over the same window and divided by the requests it answered.

Why beside ``ledger bench``: the machine's speed drifts by a third within minutes, and a gateway's CPU per
request moves with the system's throughput (fewer requests share each wake-up of its loop), so two bench runs
minutes apart compare the moments as much as the code. Side by side, both gateways see the same moment, the
same worker and the same load; what differs is their code. docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
from pathlib import Path

from ledger_cli.bench.accounts import create_accounts
from ledger_cli.bench.http1 import Connection
from ledger_cli.bench.measure import Tally, closed_loop
from ledger_cli.bench.run import http_key
from ledger_cli.bench.scenarios import HTTP_TIMEOUT, Context, post_transfer
from ledger_cli.processes import Processes, Supervisor, free_port, listening
from ledger_cli.system import OwnSystem
from ledger_common.settings import Settings


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _other_gateway(processes: Processes, other: Path, port: int) -> subprocess.Popen[bytes]:
    """``ledger gateway`` from ``other``'s code (its directory first on the path), on ``port``."""
    env = processes.env(HTTP_PORT=str(port), PYTHONPATH=str(other))
    log = (processes.logdir / "gateway-other.log").open("ab")
    return subprocess.Popen(Processes.cli_argv("gateway"), cwd=other, env=env, stdout=log, stderr=log)  # noqa: S603


async def _round(ctx: Context, urls: dict[str, str], pids: dict[str, int], seconds: float, lanes: int) -> None:
    names = list(urls)
    tallies = {name: Tally() for name in names}
    conns = [
        Connection(urls[names[n % 2]], {"Authorization": f"Bearer {ctx.token}"}, HTTP_TIMEOUT) for n in range(2 * lanes)
    ]

    async def one(lane: int) -> None:
        await post_transfer(conns[lane], ctx, tallies[names[lane % 2]])

    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    try:
        await closed_loop(seconds, 2 * lanes, one)
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    spent = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    load = os.getloadavg()[0]
    for name in names:
        t = tallies[name]
        per = spent[name] / t.completed * 1000 if t.completed else float("nan")
        print(f"{name:>6}: {t.completed:6d} requests, {per:.3f} ms CPU per request, {t.failed} failed, load {load:.1f}")


async def main(other: Path, seconds: float, rounds: int, lanes: int, accounts_count: int) -> None:
    own = await OwnSystem.create(Settings(), prefix="gwab")
    settings = own.direct.model_copy(update={"log_level": "WARNING"})
    processes = own.processes(settings)
    supervisor = Supervisor(processes)
    other_proc: subprocess.Popen[bytes] | None = None
    try:
        accounts = await create_accounts(own.dsn, count=accounts_count, owner=f"gwab-{own.run_id}")
        for name in ("worker-1", "relay-1", "gateway"):
            await supervisor.start(name)
        port = free_port()
        other_proc = _other_gateway(processes, other, port)
        await listening(port, other_proc.poll, "the other gateway", seconds=60)
        token = await http_key(settings, own.run_id)
        ctx = Context(None, accounts, None, own.run_id, supervisor.base_url, token, random.Random(1))  # type: ignore[arg-type]
        urls = {"this": supervisor.base_url, "other": f"http://127.0.0.1:{port}"}
        pid = supervisor.pid("gateway")
        assert pid is not None
        pids = {"this": pid, "other": other_proc.pid}
        await _round(ctx, urls, pids, 5, lanes)  # warm-up: connections, pools, caches
        print(f"this: {Path.cwd()}, other: {other}; {lanes} lanes to each, {seconds:g} s per round")
        for _ in range(rounds):
            await _round(ctx, urls, pids, seconds, lanes)
    finally:
        if other_proc is not None:
            other_proc.terminate()
            other_proc.wait(30)
        await supervisor.stop_all()
        await own.destroy(keep=False, keep_logs=False, queues=settings.topology.command_queues)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("other", type=Path, help="the other gateway's code: a checkout of another commit")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lanes", type=int, default=32)
    parser.add_argument("--accounts", type=int, default=20_000)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.other.resolve(), args.seconds, args.rounds, args.lanes, args.accounts)))
