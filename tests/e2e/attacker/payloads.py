"""What an attacker sends: any command of the catalogue, built as tests/examples.py builds a valid one, then
with its sides and objects drawn from every id that exists or can be derived, its new objects' ids chosen
among them, its amounts extreme and its sizes at or past their bounds."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from hypothesis import strategies as st

from contracts.bounds import MAX_AMOUNT, MAX_LEGS, MAX_METADATA_KEYS, MAX_TEXT_CHARS
from contracts.catalogue import COMMANDS, CommandSpec, Route
from contracts.refs import nested, parties, references
from tests.e2e.attacker.world import UNBOUND_COMMANDS, Caller, World
from tests.examples import Party, Side, _bare, _item, example, made_here, request

#: Choices one attack makes at most; each is an integer drawn up front (:data:`PLAN`).
CHOICES = 28
#: What hypothesis draws for one attack: a fixed number of integers, whatever the world holds. The attack is
#: built from them (:class:`Plan`), so that what hypothesis draws never depends on the world (it replays an
#: example's draws in later examples, when the world has grown; its consistency checks then fail otherwise).
PLAN = st.lists(st.integers(0, 1 << 16), min_size=CHOICES, max_size=CHOICES)

#: Every command a caller may send over HTTP (those with a route) and over AMQP (all, the ledger's own too).
HTTP_COMMANDS = tuple(spec for spec in COMMANDS if spec.routes)
#: Amounts at and around every edge: none, negative, the smallest, the bound (10^38 - 1, drawn most: sums of
#: it are what no amount check alone refuses), past it, past bigint, a fraction and an exponent as strings.
AMOUNTS: tuple[Any, ...] = (
    *(0, -1, 1, 2, 999, MAX_AMOUNT - 1, MAX_AMOUNT + 1, 2**63, 10**40, "0.5", "1e3"),
    *(MAX_AMOUNT,) * 6,
)
#: Sizes at a bound and one past it (``None``: the example's own size); legs also twice over (two debits and
#: two credits of one amount: the sum of the bound twice).
LEG_COUNTS = (None, 4, 4, MAX_LEGS, MAX_LEGS + 1)
TEXT_SIZES = (None, None, None, None, MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1)
METADATA_SIZES = (None, None, None, None, MAX_METADATA_KEYS, MAX_METADATA_KEYS + 1)

T = TypeVar("T")


class Plan:
    """The choices of one attack, taken in turn from the integers hypothesis drew (again from the start if an
    attack ever needs more than :data:`CHOICES`)."""

    def __init__(self, drawn: Sequence[int]) -> None:
        self._drawn, self._next = drawn, 0

    def one(self, items: Sequence[T]) -> T:
        value = self._drawn[self._next % len(self._drawn)]
        self._next += 1
        return items[value % len(items)]

    def flip(self) -> bool:
        return self.one((False, True))


def _leg_sides(plan: Plan, spec: CommandSpec, side: Callable[[], Side]) -> dict[str, Side | None]:
    """A side for each value of each nested item's ``side`` (``leg:debit``, ``leg:credit``)."""
    out: dict[str, Side | None] = {}
    for name in nested(spec.payload):
        item = _item(spec.payload.model_fields[name])
        if item is None:
            continue
        for party in parties(item):
            for value in typing.get_args(_bare(item.model_fields["side"].annotation)):
                out[f"{party.name}:{value}"] = side()
    return out


def payload(plan: Plan, world: World, spec: CommandSpec, caller: Caller, *, aimed: bool = False) -> dict[str, Any]:
    """A payload of ``spec`` whose every id, amount and size ``caller`` chose; a side is as often its own wallet
    as any (to get past the party checks to the rules behind them). ``aimed``: its own wallet more often, half
    the time one of its accounts on every side (legs that net to zero on it), and the amounts extreme."""
    own = [
        s
        for s in world.sides
        if isinstance(s, Party) and caller.wallet and s.ref == world.wallets[caller.wallet].handle
    ]
    odds: tuple[bool, ...] = (True, True, False) if aimed else (True, False)

    def side() -> Side:
        mine = bool(own) and plan.one(odds)
        return plan.one(own) if mine else plan.one(world.sides)

    if aimed and own and plan.flip():
        fixed = plan.one(own)

        def side() -> Side:
            return fixed

    sides: dict[str, Side | None] = {}
    for party in parties(spec.payload):
        sides[party.name] = None if party.optional and plan.flip() else side()
    sides |= _leg_sides(plan, spec, side)
    made = {  # as often one of the kind's objects as any id at all
        field: plan.one(world.objects[kind] if plan.flip() and world.objects[kind] else world.ids)
        for field, kind in made_here(spec).items()
    }
    out = example(spec, sides, made, by_wallet=plan.flip(), route=None)
    currencies = [*world.currencies, world.unregistered]
    for declared in references(spec.payload):
        field, ref = declared.field, declared.ref
        if ref.kind == "currency" and ref.new:
            out[field] = plan.one([*currencies, "N" + uuid.uuid4().hex[:8].upper()])
        elif ref.kind == "currency" and field in out:
            out[field] = plan.one(currencies)
        elif ref.new and plan.flip():  # an id of its own choosing for what it creates, often the ledger's
            out[field] = plan.one(world.derived if plan.flip() else world.ids)
    if aimed or plan.flip():
        _extreme_amounts(plan, out)
    _sizes(plan, spec, out)
    return out


def _extreme_amounts(plan: Plan, out: dict[str, Any]) -> None:
    """Every amount field (an ``amount`` of the payload or of a leg, a limit, a minimum) one extreme value: the
    same in every leg, so that the legs still balance and the sum reaches the worker (legs of 10^38 - 1)."""
    extreme = plan.one(AMOUNTS)
    for item in [out, *(leg for leg in out.get("legs", ()) if isinstance(leg, dict))]:
        for name in list(item):
            if "amount" in name or name in ("min_balance", "max_per_transaction"):
                item[name] = extreme


def _sizes(plan: Plan, spec: CommandSpec, out: dict[str, Any]) -> None:
    """Legs, a description and metadata at their bounds or one past them, where the command takes them."""
    fields = spec.payload.model_fields
    legs = plan.one(LEG_COUNTS)
    if legs is not None and isinstance(out.get("legs"), list) and out["legs"]:
        out["legs"] = (out["legs"] * legs)[:legs]
    text = plan.one(TEXT_SIZES)
    if text is not None and "description" in fields:
        out["description"] = "d" * text
    keys = plan.one(METADATA_SIZES)
    if keys is not None and "metadata" in fields:
        out["metadata"] = {f"k{i}": "v" for i in range(keys)}


def http_request(plan: Plan, world: World, spec: CommandSpec, body: dict[str, Any]) -> tuple[str, str, Any]:
    """(method, path, body) of one of ``spec``'s routes; a path parameter the payload left out is any id."""
    route: Route = plan.one(spec.routes)
    for param in route.params:
        if body.get(param) is None:
            body[param] = plan.one(world.ids)
    return request(route, body)


def prepare(drawn: Sequence[int], world: World, *, aimed: bool = False) -> Coroutine[Any, Any, object]:
    """One attack, every choice made now from ``drawn`` (so that several may be sent at once): a caller, a
    transport, a command (any over AMQP, the ledger's own too; one with a route over HTTP) and its payload.
    ``aimed``: a command of the caller's own scopes, its sides mostly its own wallet, to reach the rules behind
    the capability checks (sums, balances, chosen ids) rather than the checks themselves."""
    plan = Plan(drawn)
    caller = plan.one(world.attackers)
    over_amqp = plan.flip() or not caller.http
    specs = (COMMANDS if over_amqp else HTTP_COMMANDS) if caller.wallet else UNBOUND_COMMANDS
    allowed = [s for s in specs if s.scope in caller.scopes]
    spec = plan.one(allowed if allowed and (aimed or plan.flip()) else specs)
    body = payload(plan, world, spec, caller, aimed=aimed)
    if over_amqp:
        return world.over_amqp(caller, spec.type, body)
    return world.over_http(caller, *http_request(plan, world, spec, body))
