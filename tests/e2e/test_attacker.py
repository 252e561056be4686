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
from tests.e2e.attacker.payloads import PLAN, prepare
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
    """Each example goes on in the same world: its objects and the honest caller's books carry over.

    So a failure is not hypothesis's to replay (the world has moved on: the replay would differ, and hypothesis
    reports that as flaky data generation instead of the failure): the first one is kept, with the commands
    sent before it, every later step does nothing, and the test raises it at the end."""

    world: ClassVar[World]
    honest: ClassVar[Honest]
    runner: ClassVar[asyncio.Runner]
    tally: ClassVar[Counter[str]] = Counter()
    failure: ClassVar[AssertionError | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.tally["examples"] += 1

    def _run(self, step: Coroutine[Any, Any, object]) -> None:
        if Attacks.failure is not None:
            step.close()
            return
        try:
            self.runner.run(step)
        except Exception as failed:  # an assertion, or anything a step raised
            recent = "\n".join(self.world.recent)
            what = f"{type(failed).__name__}: {failed}\nafter step {self.tally['steps']}; last commands:\n{recent}"
            Attacks.failure = AssertionError(what)

    @rule(plan=PLAN, aimed=st.booleans())
    def attack(self, plan: list[int], aimed: bool) -> None:
        self.tally["steps"] += 1
        self._run(prepare(plan, self.world, aimed=aimed))

    @rule(
        flow=st.sampled_from(FLOWS),
        amount=st.integers(1, 5_000),
        payee=st.integers(0, 5),
        over=st.sampled_from(TRANSPORTS),
    )
    def honest_flow(self, flow: Flow, amount: int, payee: int, over: Transport) -> None:
        self.tally["steps"] += 1
        self._run(self.honest.step(flow, amount, payee, over))

    @rule(
        plans=st.lists(st.tuples(PLAN, st.booleans()), min_size=2, max_size=4),
        flow=st.sampled_from(FLOWS),
        amount=st.integers(1, 5_000),
        over=st.sampled_from(TRANSPORTS),
    )
    def burst(self, plans: list[tuple[list[int], bool]], flow: Flow, amount: int, over: Transport) -> None:
        """Attackers and the honest caller at once (their commands may share a batch and its locks)."""
        self.tally["steps"] += 1
        attacks = [prepare(plan, self.world, aimed=aimed) for plan, aimed in plans]
        self._run(_together(self.honest.step(flow, amount, len(plans), over), *attacks))

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
            Attacks.failure = None
            run_state_machine_as_test(Attacks, settings=RUN)
            if Attacks.failure is not None:
                raise Attacks.failure
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
        "attackers' outcomes by command": dict(sorted(world.by_type.items())),
        "dead-lettered by design": len(world.undecodable),
        "seconds": round(time.monotonic() - began, 1),
    }
    print(json.dumps(report, indent=1))
    if os.environ.get("ATTACKER_REPORT"):
        with open(os.environ["ATTACKER_REPORT"], "w") as out:
            json.dump(report, out, indent=1)
