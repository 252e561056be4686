"""What a payload field refers to, declared on the field itself: ``Annotated[UUID, Ref("hold")]``.

The worker loads (and locks) exactly what a command's payload declares, so a field is never guessed
from its name: a party field called anything at all is loaded if it says ``Ref("account", party=…)``.
A *party* is a pair of fields naming one side of a command either by account id or by wallet; the
pair shares the ``party`` name, and exactly one of the two is given (one or none when ``optional``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

#: What a field names: an account id, a wallet reference (``@handle``, ``ext:<ref>`` or id), a
#: wallet id, a handle (with its ``@``), a bare external reference, a hold, an intent, a committed
#: transaction, a currency code (a single code or a tuple of codes), a statement source (its name) or a
#: reconciliation break (loaded by ``ledger_worker.recon.load``, not the ledger's loader).
RefKind = Literal[
    "account",
    "wallet",
    "wallet_id",
    "handle",
    "external_ref",
    "hold",
    "intent",
    "transaction",
    "currency",
    "recon_source",
    "recon_break",
]


@dataclass(frozen=True, slots=True)
class Ref:
    """Field metadata: the field names a ledger object of ``kind``."""

    kind: RefKind
    #: The side of the command this field names (``debit``, ``payer``…); both fields of a party share it.
    party: str | None = None
    #: With ``party``: the party may be left out entirely.
    optional: bool = False
    #: The command creates this object; when the field is absent its id is derived from the command id.
    #: Loaded anyway, so a taken id is refused (``hold_exists``…) instead of failing on a unique index.
    new: bool = False
    #: The command changes this object itself (a wallet's status or metadata): it is locked, not only read.
    lock: bool = False


@dataclass(frozen=True, slots=True)
class Declared:
    """One declared reference of a payload model."""

    field: str
    ref: Ref


@cache
def references(model: type[BaseModel]) -> tuple[Declared, ...]:
    """Every field of ``model`` that declares a :class:`Ref`, in field order."""
    found: list[Declared] = []
    for name, info in model.model_fields.items():
        refs = [m for m in info.metadata if isinstance(m, Ref)]
        if len(refs) > 1:
            raise TypeError(f"{model.__name__}.{name} declares more than one Ref")
        if refs:
            found.append(Declared(name, refs[0]))
    return tuple(found)


@cache
def nested(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields of ``model`` holding contract models (or tuples of them) whose references count too."""
    out: list[str] = []
    for name, info in model.model_fields.items():
        if _holds_models(info.annotation):
            out.append(name)
    return tuple(out)


def _holds_models(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_models(a) for a in getattr(annotation, "__args__", ()) if a is not Ellipsis)


@dataclass(frozen=True, slots=True)
class PartyFields:
    """A party of a payload: its name, its account-id field and its wallet field."""

    name: str
    account_field: str
    wallet_field: str
    optional: bool


@cache
def parties(model: type[BaseModel]) -> tuple[PartyFields, ...]:
    """The parties ``model`` declares, each checked to be one account field and one wallet field."""
    by_name: dict[str, dict[str, Declared]] = {}
    for d in references(model):
        if d.ref.party is not None:
            by_name.setdefault(d.ref.party, {})[d.ref.kind] = d
    out: list[PartyFields] = []
    for name, pair in by_name.items():
        if set(pair) != {"account", "wallet"} or pair["account"].ref.optional != pair["wallet"].ref.optional:
            raise TypeError(f"{model.__name__}: party {name!r} needs one account and one wallet field, alike")
        out.append(PartyFields(name, pair["account"].field, pair["wallet"].field, pair["account"].ref.optional))
    return tuple(out)


def walk(payload: BaseModel) -> Iterator[tuple[Declared, Any]]:
    """Every declared reference of ``payload`` and nested models with its value (``None`` if absent)."""
    for d in references(type(payload)):
        yield d, getattr(payload, d.field)
    for name in nested(type(payload)):
        value = getattr(payload, name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, BaseModel):
                yield from walk(item)
