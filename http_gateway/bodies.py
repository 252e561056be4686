"""What a command route takes, read from its catalogue entry: the request body, where its amounts are, what
the gateway looks up before it may send the command, and the body's model for the OpenAPI document.

The body is the payload model less the fields the path names (``{hold_id}``), less what the route omits
(``Route.omit``), less the other field of a party the path names. Amounts (fields declared
``MinorUnits``) may be written as exact decimal strings too. Nothing here reads a request: it is computed
once per route when the app is built (``http_gateway.writes``), so adding a command adds no code here.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel, create_model
from pydantic.fields import FieldInfo

from contracts.base import Contract, MinorUnits, WalletRef
from contracts.recon import SourceName
from contracts.refs import parties, references
from contracts.spec import CommandSpec, PartyRule, Route
from http_gateway.amounts import AmountIn, SignedAmountIn

#: Objects the gateway can look up by the id a path names (``http_gateway.lookup``).
Kind = Literal["hold", "intent", "account"]
_LOOKUPS: tuple[Kind, ...] = ("hold", "intent", "account")


@dataclass(frozen=True, slots=True)
class AmountPath:
    """Where an amount sits in a body: ``("amount",)``, or ``("legs", None, "amount")`` in each leg."""

    path: tuple[str | None, ...]
    signed: bool


@dataclass(frozen=True, slots=True)
class Target:
    """An object a route's command acts on, named by ``field`` (a path parameter or a body field)."""

    field: str
    kind: Kind
    #: The holder's rule (``PartyRule("hold")``…) a wallet-bound key is checked against; None: not checked.
    rule: PartyRule | None


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the gateway needs to turn a request of ``route`` into a ``spec.type`` payload."""

    spec: CommandSpec
    route: Route
    #: Payload fields the body may carry, in the payload's order.
    fields: tuple[str, ...]
    #: Payload fields the body must not carry (the path names them, or the route omits them).
    refused: frozenset[str]
    #: Whether a request must have a body (a ``PUT`` replaces; a body with a required field or party).
    required: bool
    amounts: tuple[AmountPath, ...]
    #: The object the path names, looked up before the command is sent (its holder checked, its currency
    #: read); None if the route needs nothing of it (the worker decides, as for a wallet or a transaction).
    target: Target | None
    #: An object the body names whose holder a wallet-bound key is checked against (a refund's intent).
    named: Target | None
    #: Payload parties a wallet-bound key must hold (``reach`` own, or the debited legs for ``debit``).
    own: tuple[PartyRule, ...]
    #: The payload's ``currency`` is the target's (not in the body).
    fills_currency: bool

    @property
    def priced_by_target(self) -> bool:
        """Amounts are in the currency of the target (a hold's, an intent's, an account's)."""
        return bool(self.amounts) and "currency" not in self.fields


def _minor_units(annotation: Any) -> MinorUnits | None:
    """The ``MinorUnits`` marker an annotation carries (through ``X | None``), if any."""
    if typing.get_origin(annotation) is Annotated:
        found = [m for m in annotation.__metadata__ if isinstance(m, MinorUnits)]
        return found[0] if found else None
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is Union:
        marks = [m for a in typing.get_args(annotation) if (m := _minor_units(a)) is not None]
        return marks[0] if marks else None
    return None


def _annotation(info: FieldInfo) -> Any:
    return Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """``Leg`` of ``tuple[Leg, ...]``."""
    if typing.get_origin(annotation) is tuple:
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return args[0]
    return None


def amount_paths(model: type[BaseModel], fields: tuple[str, ...] | None = None) -> tuple[AmountPath, ...]:
    """Every amount of ``model`` (of ``fields`` only, if given), nested models' included."""
    out: list[AmountPath] = []
    for name, info in model.model_fields.items():
        if fields is not None and name not in fields:
            continue
        mark = _minor_units(_annotation(info))
        if mark is not None:
            out.append(AmountPath((name,), mark.signed))
        item = _item_model(info.annotation)
        if item is not None:
            out += [AmountPath((name, None, *p.path), p.signed) for p in amount_paths(item)]
    return tuple(out)


def plan(spec: CommandSpec, route: Route) -> Plan:
    """The plan of one route of ``spec``; raises ``TypeError`` for a declaration the gateway cannot serve."""
    model = spec.payload
    params = route.params
    refs = {d.field: d.ref for d in references(model)}
    refused = set(params) | set(route.omit)
    for party in parties(model):  # a party the path names is that party: its other field is not asked for
        if party.account_field in params or party.wallet_field in params:
            refused |= {party.account_field, party.wallet_field}
    unknown = refused - set(model.model_fields)
    if unknown or any(p not in refs for p in params):
        raise TypeError(f"{route.path}: {sorted(unknown) or list(params)} are not references of {model.__name__}")
    fields = tuple(f for f in model.model_fields if f not in refused)
    amounts = amount_paths(model, fields)
    fills = "currency" in model.model_fields and "currency" in route.omit
    holders: dict[str, PartyRule] = {r.name: r for r in spec.parties if r.name in _LOOKUPS and r.reach == "own"}
    target = named = None
    for param in params:
        kind: str = refs[param].kind
        rule = holders.get(kind) if refs[param].party is None else None
        needed = rule is not None or fills or (bool(amounts) and "currency" not in fields)
        if kind in _LOOKUPS and needed:
            target = Target(param, kind, rule)
    for field, ref in refs.items():
        if field in fields and ref.party is None and ref.kind in holders:
            named = Target(field, typing.cast(Kind, ref.kind), holders[ref.kind])
    if (fills or (amounts and "currency" not in fields)) and target is None:
        raise TypeError(f"{route.path}: the amounts of {model.__name__} are in no currency the gateway can read")
    required_parties = any(not p.optional and p.account_field in fields for p in parties(model))
    required = route.method == "PUT" or required_parties or any(model.model_fields[f].is_required() for f in fields)
    own = tuple(r for r in spec.parties if r.name not in _LOOKUPS and r.reach != "any")
    return Plan(spec, route, fields, frozenset(refused), required, amounts, target, named, own, fills)


# The body's model, for the OpenAPI document and the SDK generator (requests are validated as the payload).


def _requested(annotation: Any) -> Any:
    """``annotation`` as a request writes it: amounts as ``AmountIn``, nested models as their request models."""
    mark = _minor_units(annotation)
    if mark is not None:
        written = SignedAmountIn if mark.signed else AmountIn
        return written | None if types.NoneType in typing.get_args(annotation) else written
    item = _item_model(typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation)
    if item is not None and issubclass(item, Contract):
        metadata = annotation.__metadata__ if typing.get_origin(annotation) is Annotated else ()
        inner = tuple.__class_getitem__((request_model(item, tuple(item.model_fields)), ...))
        return Annotated[inner, *metadata] if metadata else inner
    return annotation


@cache
def request_model(model: type[Contract], fields: tuple[str, ...]) -> type[Contract]:
    """The model of a body carrying ``fields`` of ``model``: ``TransferRequest`` for ``Transfer``."""
    defined: dict[str, Any] = {}
    for name in fields:
        info = model.model_fields[name]
        annotation = _requested(_annotation(info))
        default = ... if info.is_required() else info.get_default(call_default_factory=True)
        defined[name] = (annotation, FieldInfo(default=default, description=info.description))
    derived: type[Contract] = create_model(
        f"{model.__name__}Request", __base__=Contract, __module__=__name__, __doc__=model.__doc__, **defined
    )
    return derived


def body_model(p: Plan) -> type[Contract] | None:
    """The model of ``p``'s request body, or None if the route takes none."""
    return request_model(p.spec.payload, p.fields) if p.fields else None


#: A wallet named in a path, as every route declares it.
WalletPath = Annotated[WalletRef, Path(description="`@handle`, `ext:<external_ref>` or the wallet id")]
SourcePath = Annotated[SourceName, Path(description="The statement source's name")]


def path_type(p: Plan, param: str) -> Any:
    """How the OpenAPI document declares a path parameter: a wallet reference, a statement source's name, else
    an id."""
    kind = {d.field: d.ref.kind for d in references(p.spec.payload)}[param]
    if kind == "recon_source":
        return SourcePath
    return WalletPath if kind == "wallet" else UUID
