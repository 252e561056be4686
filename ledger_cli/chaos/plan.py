"""The seeded load plan: every message the run will send, in order, so a seed replays the same load.

Two phases: the accounts are opened first (the ledger applies commands concurrently, so a deposit must
not race its account's opening), then the mix of :data:`~ledger_cli.chaos.catalogue.MOVEMENTS`. Into the
main phase the plan weaves duplicates (the same command id / Idempotency-Key with the same body, sent
twice at once, a little later, or at the very end) and malformed messages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ledger_cli.chaos import catalogue
from ledger_cli.chaos.catalogue import Spec, World

Channel = Literal["amqp", "http"]

AMQP_SHARE = 0.6
CONCURRENT_DUPLICATE = 0.04  # sent twice at the same moment
LATER_DUPLICATE = 0.05  # sent again a little later, or at the very end
MALFORMED_AMQP = 0.012
MALFORMED_HTTP = 0.004


@dataclass(frozen=True)
class Item:
    """One step of the plan: a valid command (``spec``) or a malformed message (``malformed`` case)."""

    index: int
    channel: Channel
    command_id: str
    spec: Spec | None = None
    malformed: str | None = None
    copies: int = 1
    duplicate: bool = False

    @property
    def kind(self) -> str:
        if self.malformed is not None:
            return f"malformed_{self.channel}"
        return "duplicate" if self.duplicate else "command"


@dataclass(frozen=True)
class Plan:
    seed: int
    world: World
    opens: tuple[Item, ...]
    main: tuple[Item, ...]

    @property
    def commands(self) -> dict[str, Spec]:
        """Every distinct valid command of the plan by command id."""
        return {i.command_id: i.spec for i in (*self.opens, *self.main) if i.spec is not None and not i.duplicate}


def account_count(commands: int) -> int:
    return max(6, min(500, commands // 30))


def _channel(rng: random.Random) -> Channel:
    return "amqp" if rng.random() < AMQP_SHARE else "http"


def _malformed(rng: random.Random, index: int, ids: int) -> Item | None:
    roll = rng.random()
    if roll < MALFORMED_AMQP:
        return Item(index, "amqp", f"bad-amqp-{ids}", malformed=rng.choice(catalogue.AMQP_MALFORMED))
    if roll < MALFORMED_AMQP + MALFORMED_HTTP:
        return Item(index, "http", f"bad-http-{ids}", malformed=rng.choice(catalogue.HTTP_MALFORMED))
    return None


def build(seed: int, commands: int) -> Plan:
    """The plan for ``commands`` distinct valid commands (opens included); same seed, same plan."""
    rng = random.Random(f"chaos-plan:{seed}")
    world = catalogue.make_world(rng, account_count(commands))
    if commands <= len(world.accounts):
        raise ValueError(f"--commands must exceed the {len(world.accounts)} accounts the run opens")
    opens = tuple(
        Item(i, _channel(rng), f"open-{i}", spec=catalogue.open_account(a)) for i, a in enumerate(world.accounts)
    )
    main: list[Item] = []
    later: dict[int, list[Item]] = {}  # position in the main phase -> duplicates to send there
    at_end: list[Item] = []
    extra = 0
    for n in range(commands - len(opens)):
        for dup in later.pop(n, []):
            main.append(Item(len(main), dup.channel, dup.command_id, spec=dup.spec, duplicate=True))
        if (bad := _malformed(rng, len(main), extra)) is not None:
            main.append(bad)
            extra += 1
        spec = catalogue.pick_kind(rng).make(rng, world)
        copies = 2 if rng.random() < CONCURRENT_DUPLICATE else 1
        item = Item(len(main), _channel(rng), f"cmd-{n}", spec=spec, copies=copies)
        main.append(item)
        if rng.random() < LATER_DUPLICATE:
            dup = Item(-1, _channel(rng), item.command_id, spec=spec, duplicate=True)
            if rng.random() < 0.3:
                at_end.append(dup)
            else:
                later.setdefault(n + rng.randint(1, 300), []).append(dup)
    for dup in [*(d for pending in later.values() for d in pending), *at_end]:
        main.append(Item(len(main), dup.channel, dup.command_id, spec=dup.spec, duplicate=True))
    return Plan(seed, world, opens, tuple(main))
