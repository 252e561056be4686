"""The attacker test (issue 22; docs/security.md, "Threat model"): keys with every scope set of the capability
table send arbitrary commands over HTTP and AMQP, naming every id that exists or can be derived, with extreme
amounts and sizes, while an honest caller runs its flows beside them (tests/e2e/attacker/).

Checked after every step: no money leaves the honest wallet or a bystander's, and none of it is held, but by
the honest caller's own flows; system accounts stay system accounts of their role, an unregistered currency's
system ids stay nobody's, no wallet's derived account is anyone else's. On every answer: no 5xx. At the end:
every command the worker was given has its outcome; nothing dead-lettered but the AMQP bodies the intake
refuses by design; no dead event.

Bounded in ``make test`` (deterministic: ``derandomize``); ``make attack`` (or ATTACKER_EXAMPLES and
ATTACKER_STEPS) runs longer. The figures of a run are printed (``-s``) and, with ATTACKER_REPORT, written as
JSON to that file.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Coroutine
from typing import Any, ClassVar

import aio_pika
import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger_cli.processes import Processes
from ledger_common.db import create_pool
from tests.e2e.attacker import checks
from tests.e2e.attacker.honest import FLOWS, Flow, Honest, Transport
from tests.e2e.attacker.payloads import prepare
from tests.e2e.attacker.world import World, build
from tests.e2e.trust import service, start

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("ATTACKER_EXAMPLES", "5"))
STEPS = int(os.environ.get("ATTACKER_STEPS", "30"))
RUN = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    derandomize=True,  # the same commands every run
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: the world lives on across examples
    suppress_health_check=list(HealthCheck),
)
TRANSPORTS: tuple[Transport, ...] = ("http", "amqp")


class Attacks(RuleBasedStateMachine):
    """Each example goes on in the same world: its objects and the honest caller's books carry over."""

    world: ClassVar[World]
    honest: ClassVar[Honest]
    runner: ClassVar[asyncio.Runner]
    tally: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.tally["examples"] += 1

    def _run(self, step: Any) -> None:
        self.runner.run(step)

    @rule(data=st.data(), over_amqp=st.booleans(), aimed=st.booleans())
    def attack(self, data: st.DataObject, over_amqp: bool, aimed: bool) -> None:
        self.tally["steps"] += 1
        self._run(prepare(data.draw, self.world, over_amqp, aimed=aimed))

    @rule(
        flow=st.sampled_from(FLOWS),
        amount=st.integers(1, 5_000),
        payee=st.integers(0, 5),
        over=st.sampled_from(TRANSPORTS),
    )
    def honest_flow(self, flow: Flow, amount: int, payee: int, over: Transport) -> None:
        self.tally["steps"] += 1
        self._run(self.honest.step(flow, amount, payee, over))

    @rule(data=st.data(), size=st.integers(2, 6), flow=st.sampled_from(FLOWS), over=st.sampled_from(TRANSPORTS))
    def burst(self, data: st.DataObject, size: int, flow: Flow, over: Transport) -> None:
        """Attackers and the honest caller at once (their commands may share a batch and its locks)."""
        self.tally["steps"] += 1
        attacks = [prepare(data.draw, self.world, data.draw(st.booleans())) for _ in range(size)]
        honest = self.honest.step(flow, data.draw(st.integers(1, 5_000)), size, over)
        self._run(_together(honest, *attacks))

    @invariant()
    def nothing_of_others_changed(self) -> None:
        self._run(checks.protected(self.world, self.honest))
        self._run(checks.system_accounts(self.world))


async def _together(*steps: Coroutine[Any, Any, object]) -> None:
    await asyncio.gather(*steps)


async def _world(procs: Processes) -> World:
    settings_ = procs.settings
    pool = await create_pool(settings_.database_url.get_secret_value(), size=4)
    amqp = await aio_pika.connect_robust(settings_.amqp_url.get_secret_value())
    http = httpx.AsyncClient(base_url=procs.base_url, timeout=60)
    return await build(procs, service(procs), http, pool, amqp)


async def _close(world: World) -> None:
    await world.publisher.close()
    await world.http.aclose()
    await world.service.aclose()
    await world.amqp.close()
    await world.pool.close()


def test_attackers_take_nothing_and_break_nothing(isolated: Processes) -> None:
    start(isolated, "worker", "gateway", "relay")
    began = time.monotonic()
    Attacks.tally.clear()
    with asyncio.Runner() as runner:
        world = runner.run(_world(isolated))
        try:
            Attacks.world, Attacks.honest, Attacks.runner = world, Honest(world), runner
            run_state_machine_as_test(Attacks, settings=RUN)
            runner.run(checks.at_the_end(world))
        finally:
            runner.run(_close(world))
    report = {
        "examples": Attacks.tally["examples"],
        "steps": Attacks.tally["steps"],
        "attacker keys": len(world.attackers),
        "sent": dict(world.sent),
        "honest flows": Attacks.honest.flows,
        "answers": dict(sorted(world.answers.items())),
        "dead-lettered by design": len(world.undecodable),
        "seconds": round(time.monotonic() - began, 1),
    }
    print(json.dumps(report, indent=1))
    if os.environ.get("ATTACKER_REPORT"):
        with open(os.environ["ATTACKER_REPORT"], "w") as out:
            json.dump(report, out, indent=1)
