"""An example of every command of the catalogue, derived from its payload model: the access-control and trust
tests send these, so a new command needs no entry in any test table.

A payload's fields get their values by what they declare (``contracts.refs``, ``contracts.base``): each party
is an account or a wallet of the class a test asks for (its own wallet, another customer's, a system account);
a reference to a hold, an intent, a transaction, or a wallet the command changes names an object made for the
example by its :class:`Maker` (fresh, since an accepted command may consume it), in the state the catalogue
entry asks for (``CommandSpec.state``); a nested list of parties (legs) gets one item per side; every other
required field the value of its type. Optional fields are left out.
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union
from uuid import UUID

import annotated_types
import asyncpg
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from contracts.base import MinorUnits
from contracts.bounds import MAX_EXPIRY_SECONDS
from contracts.recon import Columns, SourceConfig
from contracts.refs import Ref, parties, references
from contracts.spec import CommandSpec, Route

#: ``(command type, payload)`` -> the ``CommandResult`` as JSON; it must be applied.
Maker = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
#: How long the examples' holds live: an example that moves an expiry asks for more (:func:`value`).
HOLD_SECONDS = 3600
#: What an example intent asks to be paid (an example refund takes a unit of it).
INTENT_AMOUNT = 1000
#: Objects a command may act on that an example makes for it.
MADE = ("hold", "intent", "transaction", "wallet", "recon_source", "recon_break")
#: The database of the system the examples are sent to (set by tests/e2e/conftest.py's system fixtures):
#: statement sources and breaks are not made by commands, so an example's are written there.
DATABASE: list[str] = []


@dataclass(frozen=True)
class Party:
    """A customer wallet with its USD account."""

    wallet: UUID
    account: UUID
    ref: str  # its handle

    def named(self, pair: tuple[str, str], *, by_wallet: bool) -> dict[str, str]:
        """The party fields ``pair`` (account field, wallet field) naming this party."""
        return {pair[1]: self.ref} if by_wallet else {pair[0]: str(self.account)}


@dataclass(frozen=True)
class System:
    """A system account (treasury, revenue…), named by its id or its role's handle."""

    account: UUID
    ref: str

    def named(self, pair: tuple[str, str], *, by_wallet: bool) -> dict[str, str]:
        return {pair[1]: self.ref} if by_wallet else {pair[0]: str(self.account)}


Side = Party | System


@dataclass
class Example:
    """A command's payload, and the objects made for it."""

    payload: dict[str, Any]
    made: dict[str, str] = field(default_factory=dict)


def _bare(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is Union:
        args = [a for a in typing.get_args(annotation) if a is not types.NoneType]
        return _bare(args[0]) if len(args) == 1 else annotation
    return annotation


def value(info: FieldInfo, ref: Ref | None) -> Any:
    """The value of a required field that names no object: by its type and constraints."""
    marks = list(info.metadata)
    if any(isinstance(m, MinorUnits) for m in marks):
        return 1
    if ref is not None and ref.kind == "currency":
        return "X" + uuid.uuid4().hex[:8].upper() if ref.new else "USD"
    bare = _bare(info.annotation)
    if bare is int:
        upper = next((m.le for m in marks if isinstance(m, annotated_types.Le)), None)
        if upper == MAX_EXPIRY_SECONDS:  # an expiry: later than the examples' holds' own
            return 2 * HOLD_SECONDS
        return next((m.ge for m in marks if isinstance(m, annotated_types.Ge)), 1)
    if bare is str:
        return "example"
    if typing.get_origin(bare) is dict:
        return {"example": "yes"}
    if typing.get_origin(bare) is Literal:
        return typing.get_args(bare)[0]
    raise TypeError(f"no example value for {info.annotation!r}: teach tests/examples.py its type")


def _pairs(model: type[BaseModel]) -> dict[str, tuple[str, str]]:
    return {p.name: (p.account_field, p.wallet_field) for p in parties(model)}


async def make(maker: Maker, spec: CommandSpec, kind: str, holder: Party, counter: Party) -> str:
    """An object of ``kind`` for an example of ``spec``: held by ``holder`` (the hold's account, the intent's
    merchant, the transaction's payer), with ``counter`` on its other side (the recipient, the payer, the
    payee), in the state ``spec.state`` asks for."""
    usd = {"currency": "USD"}
    if kind == "hold":
        placed = await maker(
            "hold.place",
            {
                "account_id": str(holder.account),
                "amount": 1,
                **usd,
                "recipient_account_id": str(counter.account),
                "expires_in_seconds": HOLD_SECONDS,
            },
        )
        return str(placed["hold_id"])
    if kind == "intent":
        created = await maker(
            "intent.create", {"merchant_account_id": str(holder.account), "amount": INTENT_AMOUNT, **usd}
        )
        intent = str(created["intent_id"])
        if spec.state in ("authorized", "paid"):
            pay = {
                "intent_id": intent,
                "payer_account_id": str(counter.account),
                "via_hold": spec.state == "authorized",
            }
            await maker("intent.pay", pay)
        return intent
    if kind == "transaction":
        moved = {"debit_account_id": str(holder.account), "credit_account_id": str(counter.account), "amount": 1}
        return str((await maker("transfer", {**moved, **usd}))["transaction_id"])
    if kind == "wallet":  # a wallet of no account: it may be closed, and any account opened in it
        wallet = str((await maker("wallet.create", {"owner_id": "example"}))["wallet_id"])
        if spec.state == "frozen":
            await maker("wallet.freeze", {"wallet": wallet})
        return wallet
    if kind in ("recon_source", "recon_break"):
        return await recon_object(kind, holder)
    raise TypeError(f"no example object of kind {kind!r}")


async def recon_object(kind: str, holder: Party) -> str:
    """A statement source over ``holder``'s account (its name), or an open break of one: a line of 0.01 USD
    the ledger does not have (its id)."""
    conn = await asyncpg.connect(DATABASE[-1])
    try:
        name = f"example-{uuid.uuid4().hex[:12]}"
        config = SourceConfig(
            account_id=holder.account, currency="USD", columns=Columns(amount="amount", value_date="date")
        )
        source_id = await conn.fetchval(
            "INSERT INTO recon_sources (id, name, account_id, currency, config) VALUES ($1, $2, $3, 'USD', $4::jsonb)"
            " RETURNING id",
            uuid.uuid4(),
            name,
            holder.account,
            config.model_dump_json(),
        )
        if kind == "recon_source":
            return name
        file_id = await conn.fetchval(
            "INSERT INTO recon_files (id, source_id, sha256, name) VALUES ($1, $2, $3, 'example') RETURNING id",
            uuid.uuid4(),
            source_id,
            uuid.uuid4().bytes * 2,
        )
        line_id = await conn.fetchval(
            "INSERT INTO recon_lines (file_id, source_id, line_no, account_id, currency, amount, value_date)"
            " VALUES ($1, $2, 1, $3, 'USD', 1, current_date) RETURNING id",
            file_id,
            source_id,
            holder.account,
        )
        break_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO recon_breaks (id, source_id, reason, line_id, amount, opened_at)"
            " VALUES ($1, $2, 'statement_line_unmatched', $3, 1, now())",
            break_id,
            source_id,
            line_id,
        )
        return str(break_id)
    finally:
        await conn.close()


def made_here(spec: CommandSpec) -> dict[str, str]:
    """The payload fields naming an object an example makes: field -> kind."""
    out: dict[str, str] = {}
    for d in references(spec.payload):
        if d.ref.party is None and not d.ref.new and d.ref.kind in MADE:
            info = spec.payload.model_fields[d.field]
            if info.is_required() or d.ref.lock:
                out[d.field] = d.ref.kind
    for route in spec.routes:  # a wallet a path names (accounts opened in it)
        for param in route.params:
            kind = {d.field: d.ref.kind for d in references(spec.payload)}[param]
            if kind == "wallet":
                out.setdefault(param, "wallet")
    return out


def example(
    spec: CommandSpec, sides: dict[str, Side | None], made: dict[str, str], *, by_wallet: bool, route: Route | None
) -> dict[str, Any]:
    """The payload of ``spec``: its parties as ``sides`` says (``leg:debit``/``leg:credit`` for legs), the
    objects ``made`` for it, values for what else it requires. With ``route``, only what that route takes."""
    model = spec.payload
    pairs = _pairs(model)
    refs = {d.field: d.ref for d in references(model)}
    out: dict[str, Any] = {}
    for name, side in sides.items():
        if name in pairs and side is not None:
            out.update(side.named(pairs[name], by_wallet=by_wallet))
    for name, info in model.model_fields.items():
        if name in out or any(name in pair for pair in pairs.values()):
            continue
        if name in made:
            out[name] = made[name]
        elif _item(info) is not None:
            out[name] = _items(_item(info), sides, by_wallet=by_wallet)  # type: ignore[arg-type]
        elif info.is_required():
            out[name] = value(info, refs.get(name))
    if route is not None:
        out = {k: v for k, v in out.items() if k not in route.omit}
    return out


def _item(info: FieldInfo) -> type[BaseModel] | None:
    bare = _bare(info.annotation)
    if typing.get_origin(bare) is tuple:
        item = typing.get_args(bare)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def _items(model: type[BaseModel], sides: dict[str, Side | None], *, by_wallet: bool) -> list[dict[str, Any]]:
    """One item per value of the item's ``side`` (a leg debited, a leg credited), each with its party."""
    (party,) = parties(model)
    out = []
    for side_value in typing.get_args(_bare(model.model_fields["side"].annotation)):
        side = sides[f"{party.name}:{side_value}"]
        assert side is not None
        item = side.named((party.account_field, party.wallet_field), by_wallet=by_wallet)
        for name, info in model.model_fields.items():
            if name == "side":
                item[name] = side_value
            elif name not in item and info.is_required() and name not in (party.account_field, party.wallet_field):
                item[name] = value(info, None)
        out.append(item)
    return out


def request(route: Route, payload: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(method, path, body) of ``route`` sending ``payload``: the path's fields go in the path."""
    body = dict(payload)
    path = route.path
    for param in route.params:
        path = path.replace("{" + param + "}", str(body.pop(param)))
    for name in route.omit:
        body.pop(name, None)
    return route.method, path, body


def counter_of(spec: CommandSpec, kind: str) -> bool:
    """Whether the object of ``kind`` an example of ``spec`` acts on is held by another wallet than the
    caller's own: where its holder's rule lets any wallet act (an intent anyone may pay)."""
    return any(r.name == kind and r.reach == "any" for r in spec.parties)


def route_of(spec: CommandSpec) -> Route:
    """The route with the fewest path parameters (``POST /v1/accounts`` of ``account.open``)."""
    return min(spec.routes, key=lambda r: len(r.params))


def key() -> str:
    """A fresh Idempotency-Key."""
    return uuid.uuid4().hex
