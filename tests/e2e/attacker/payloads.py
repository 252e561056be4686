"""What an attacker sends: any command of the catalogue, built as tests/examples.py builds a valid one, then
with its sides and objects drawn from every id that exists or can be derived, its new objects' ids chosen
among them, its amounts extreme and its sizes at or past their bounds."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import strategies as st

from contracts.bounds import MAX_AMOUNT, MAX_LEGS, MAX_METADATA_KEYS, MAX_TEXT_CHARS
from contracts.catalogue import COMMANDS, CommandSpec, Route
from contracts.refs import nested, parties, references
from tests.e2e.attacker.world import UNBOUND_COMMANDS, Caller, World
from tests.examples import Party, Side, _bare, _item, example, made_here, request

Draw = Callable[[st.SearchStrategy[Any]], Any]

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


def pick(draw: Draw, items: list[str]) -> str:
    """One of ``items``, a pool that grows as commands create things: drawn as an index, so that what
    hypothesis draws does not depend on the pool's size (it replays draws across examples)."""
    index: int = draw(st.integers(0, 1 << 16))
    return items[index % len(items)]


def _leg_sides(draw: Draw, spec: CommandSpec, sides: st.SearchStrategy[Side]) -> dict[str, Side | None]:
    """A side for each value of each nested item's ``side`` (``leg:debit``, ``leg:credit``)."""
    out: dict[str, Side | None] = {}
    for name in nested(spec.payload):
        item = _item(spec.payload.model_fields[name])
        for party in parties(item) if item is not None else ():
            for value in typing.get_args(_bare(item.model_fields["side"].annotation)):  # type: ignore[union-attr]
                out[f"{party.name}:{value}"] = draw(sides)
    return out


def payload(draw: Draw, world: World, spec: CommandSpec, caller: Caller, *, aimed: bool = False) -> dict[str, Any]:
    """A payload of ``spec`` whose every id, amount and size ``caller`` chose; a side is as often its own wallet
    as any (to get past the party checks to the rules behind them). ``aimed``: its own wallet more often, half
    the time one of its accounts on every side (legs that net to zero on it), and the amounts extreme."""
    own = [
        s
        for s in world.sides
        if isinstance(s, Party) and caller.wallet and s.ref == world.wallets[caller.wallet].handle
    ]
    anyone = st.sampled_from(world.sides)
    mine = [st.sampled_from(own)] * (2 if aimed else 1) if own else []
    drawn = st.one_of(*mine, anyone)
    if aimed and own and draw(st.booleans()):
        drawn = st.just(draw(st.sampled_from(own)))
    sides: dict[str, Side | None] = {}
    for party in parties(spec.payload):
        absent = party.optional and draw(st.booleans())
        sides[party.name] = None if absent else draw(drawn)
    sides |= _leg_sides(draw, spec, drawn)
    made = {  # as often one of the kind's objects as any id at all
        field: pick(draw, world.objects[kind] if draw(st.booleans()) and world.objects[kind] else world.ids)
        for field, kind in made_here(spec).items()
    }
    out = example(spec, sides, made, by_wallet=draw(st.booleans()), route=None)
    currencies = st.sampled_from([*world.currencies, world.unregistered])
    for declared in references(spec.payload):
        field, ref = declared.field, declared.ref
        if ref.kind == "currency" and ref.new:
            out[field] = draw(st.one_of(currencies, st.just("N" + uuid.uuid4().hex[:8].upper())))
        elif ref.kind == "currency" and field in out:
            out[field] = draw(currencies)
        elif ref.new and draw(st.booleans()):  # an id of its own choosing for what it creates, often the ledger's
            out[field] = pick(draw, world.derived if draw(st.booleans()) else world.ids)
    if aimed or draw(st.booleans()):
        _extreme_amounts(draw, out)
    _sizes(draw, spec, out)
    return out


def _extreme_amounts(draw: Draw, out: dict[str, Any]) -> None:
    """Every amount field (an ``amount`` of the payload or of a leg, a limit, a minimum) one extreme value: the
    same in every leg, so that the legs still balance and the sum reaches the worker (legs of 10^38 - 1)."""
    extreme = draw(st.sampled_from(AMOUNTS))
    for item in [out, *(leg for leg in out.get("legs", ()) if isinstance(leg, dict))]:
        for name in list(item):
            if "amount" in name or name in ("min_balance", "max_per_transaction"):
                item[name] = extreme


def _sizes(draw: Draw, spec: CommandSpec, out: dict[str, Any]) -> None:
    """Legs, a description and metadata at their bounds or one past them, where the command takes them."""
    fields = spec.payload.model_fields
    legs = draw(st.sampled_from(LEG_COUNTS))
    if legs is not None and isinstance(out.get("legs"), list) and out["legs"]:
        out["legs"] = (out["legs"] * legs)[:legs]
    text = draw(st.sampled_from(TEXT_SIZES))
    if text is not None and "description" in fields:
        out["description"] = "d" * text
    keys = draw(st.sampled_from(METADATA_SIZES))
    if keys is not None and "metadata" in fields:
        out["metadata"] = {f"k{i}": "v" for i in range(keys)}


def http_request(draw: Draw, world: World, spec: CommandSpec, body: dict[str, Any]) -> tuple[str, str, Any]:
    """(method, path, body) of one of ``spec``'s routes; a path parameter the payload left out is any id."""
    route: Route = draw(st.sampled_from(spec.routes))
    for param in route.params:
        if body.get(param) is None:
            body[param] = pick(draw, world.ids)
    return request(route, body)


def prepare(draw: Draw, world: World, over_amqp: bool, *, aimed: bool = False) -> Coroutine[Any, Any, object]:
    """One attack, every choice drawn now (so that several may be sent at once, deterministically): a caller,
    a command (any over AMQP, the ledger's own too; one with a route over HTTP) and its payload. ``aimed``: a
    command of the caller's own scopes, its sides mostly its own wallet, to reach the rules behind the
    capability checks (sums, balances, chosen ids) rather than the checks themselves."""
    caller = draw(st.sampled_from(world.attackers))
    over_amqp = over_amqp or caller.token is None
    specs = (COMMANDS if over_amqp else HTTP_COMMANDS) if caller.wallet else UNBOUND_COMMANDS
    allowed = [s for s in specs if s.scope in caller.scopes]
    choices = [st.sampled_from(allowed)] if allowed else []
    spec = draw(st.one_of(*choices, *([] if aimed and choices else [st.sampled_from(specs)])))
    body = payload(draw, world, spec, caller, aimed=aimed)
    if over_amqp:
        return world.over_amqp(caller, spec.type, body)
    return world.over_http(caller, *http_request(draw, world, spec, body))
