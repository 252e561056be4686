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
from tests.e2e.attacker.world import World
from tests.examples import Side, _bare, _item, example, made_here, request

Draw = Callable[[st.SearchStrategy[Any]], Any]

#: Every command a caller may send over HTTP (those with a route) and over AMQP (all, the ledger's own too).
HTTP_COMMANDS = tuple(spec for spec in COMMANDS if spec.routes)
#: Amounts at and around every edge: none, negative, the smallest, the bound (10^38 - 1), past it, past
#: bigint, a fraction and an exponent written as strings.
AMOUNTS: tuple[Any, ...] = (0, -1, 1, 2, 999, MAX_AMOUNT - 1, MAX_AMOUNT, MAX_AMOUNT + 1, 2**63, 10**40, "0.5", "1e3")
#: Sizes at a bound and one past it (``None``: the example's own size).
LEG_COUNTS = (None, None, MAX_LEGS, MAX_LEGS + 1)
TEXT_SIZES = (None, None, MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1)
METADATA_SIZES = (None, None, MAX_METADATA_KEYS, MAX_METADATA_KEYS + 1)


def _leg_sides(draw: Draw, world: World, spec: CommandSpec) -> dict[str, Side | None]:
    """A side for each value of each nested item's ``side`` (``leg:debit``, ``leg:credit``)."""
    out: dict[str, Side | None] = {}
    for name in nested(spec.payload):
        item = _item(spec.payload.model_fields[name])
        for party in parties(item) if item is not None else ():
            for value in typing.get_args(_bare(item.model_fields["side"].annotation)):  # type: ignore[union-attr]
                out[f"{party.name}:{value}"] = draw(st.sampled_from(world.sides))
    return out


def payload(draw: Draw, world: World, spec: CommandSpec) -> dict[str, Any]:
    """A payload of ``spec`` whose every id, amount and size an attacker chose."""
    sides: dict[str, Side | None] = {}
    for party in parties(spec.payload):
        absent = party.optional and draw(st.booleans())
        sides[party.name] = None if absent else draw(st.sampled_from(world.sides))
    sides |= _leg_sides(draw, world, spec)
    anything = st.sampled_from(world.ids)
    made = {
        field: draw(st.one_of(st.sampled_from(world.objects[kind]), anything) if world.objects[kind] else anything)
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
        elif ref.new and draw(st.booleans()):  # an id of its own choosing for what it creates
            out[field] = draw(anything)
    if draw(st.booleans()):
        _extreme_amounts(draw, out)
    _sizes(draw, spec, out)
    return out


def _extreme_amounts(draw: Draw, out: dict[str, Any]) -> None:
    """Every amount field (an ``amount`` of the payload or of a leg, a limit, a minimum) an extreme value."""
    for item in [out, *(leg for leg in out.get("legs", ()) if isinstance(leg, dict))]:
        for name in list(item):
            if "amount" in name or name in ("min_balance", "max_per_transaction"):
                item[name] = draw(st.sampled_from(AMOUNTS))


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
            body[param] = draw(st.sampled_from(world.ids))
    return request(route, body)


def prepare(draw: Draw, world: World, over_amqp: bool) -> Coroutine[Any, Any, object]:
    """One attack, every choice drawn now (so that several may be sent at once, deterministically): a caller,
    a command (any over AMQP, the ledger's own too; one with a route over HTTP) and its payload."""
    caller = draw(st.sampled_from(world.attackers))
    over_amqp = over_amqp or caller.token is None
    spec = draw(st.sampled_from(COMMANDS if over_amqp else HTTP_COMMANDS))
    body = payload(draw, world, spec)
    if over_amqp:
        return world.over_amqp(caller, spec.type, body)
    return world.over_http(caller, *http_request(draw, world, spec, body))
