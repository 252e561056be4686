"""Every reference a payload declares is collected for loading, and no id-like field goes undeclared."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from contracts.base import Contract
from contracts.catalogue import COMMANDS, CommandSpec
from contracts.commands import COMMAND_CLASSES, Command
from contracts.ids import object_id
from contracts.refs import Declared, Ref, nested, references
from ledger_worker.load import Needs, collect

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _value(d: Declared) -> Any:
    match d.ref.kind:
        case "wallet":
            return f"@w{uuid.uuid4().hex[:12]}"
        case "handle":
            return f"@h{uuid.uuid4().hex[:12]}"
        case "external_ref":
            return f"ref-{uuid.uuid4().hex[:8]}"
        case "currency":
            return "USD"
        case _:
            return uuid.uuid4()


def _filled(model: type[BaseModel]) -> Contract:
    """The model with every declared reference set (and nested models filled the same way)."""
    fields: dict[str, Any] = {d.field: _value(d) for d in references(model)}
    for name in nested(model):
        inner = next(a for a in _leaves(model.model_fields[name].annotation) if isinstance(a, type))
        fields[name] = (_filled(inner), _filled(inner))
    if "currencies" in fields:
        fields["currencies"] = ("USD", "EUR")
    filled = model.model_construct(**fields)
    assert isinstance(filled, Contract)
    return filled


def _leaves(annotation: Any) -> list[Any]:
    args = [a for a in get_args(annotation) if a is not Ellipsis]
    return [leaf for a in args for leaf in _leaves(a)] if args else [annotation]


def _command(spec: CommandSpec, payload: Contract) -> Command:
    cls = COMMAND_CLASSES[spec.type]
    return cls.model_construct(command_id="c-1", issued_at=NOW, type=spec.type, payload=payload)


def _collected(needs: Needs, d: Declared, value: Any) -> bool:
    ref = d.ref
    match ref.kind:
        case "account":
            return value in needs.account_ids
        case "wallet":
            return value in (needs.locked_wallet_refs if ref.lock else needs.wallet_refs)
        case "wallet_id":
            return str(value) in needs.wallet_refs
        case "handle":
            return value in needs.wallet_refs
        case "external_ref":
            return f"ext:{value}" in needs.wallet_refs
        case "hold":
            return value in needs.hold_ids
        case "intent":
            return value in needs.intent_ids
        case "transaction":
            return value in needs.transaction_ids
        case "recon_source":
            return value in needs.recon_sources
        case "recon_break":
            return value in needs.recon_breaks
        case "currency":
            return set(value if isinstance(value, tuple) else (value,)) <= needs.currencies


def _all(payload: BaseModel) -> list[tuple[Declared, Any]]:
    out = [(d, getattr(payload, d.field)) for d in references(type(payload))]
    for name in nested(type(payload)):
        for item in getattr(payload, name):
            out += _all(item)
    return out


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda s: s.type)
def test_every_declared_reference_is_collected(spec: CommandSpec) -> None:
    payload = _filled(spec.payload)
    needs = collect([_command(spec, payload)])
    missing = [d.field for d, value in _all(payload) if not _collected(needs, d, value)]
    assert not missing, f"{spec.type}: declared but not collected: {missing}"
    if spec.system is not None:
        assert (spec.system, "USD") in needs.system
    for kind in spec.derives:
        assert object_id(kind, principal=None, command_id="c-1") in needs.hold_ids


_DERIVED = ("account", "hold", "intent", "wallet_id")


@pytest.mark.parametrize(
    "spec",
    [s for s in COMMANDS if any(d.ref.new and d.ref.kind in _DERIVED for d in references(s.payload))],
    ids=lambda s: s.type,
)
def test_ids_a_command_derives_are_collected_so_a_taken_one_is_refused(spec: CommandSpec) -> None:
    """An absent ``new`` id is derived from the command id; the book must see whether it is taken."""
    filled = _filled(spec.payload)
    absent = {d.field: None for d in references(spec.payload) if d.ref.new}
    payload = spec.payload.model_construct(**{**dict(filled), **absent})
    needs = collect([_command(spec, payload)])
    for d in references(spec.payload):
        if d.ref.new and d.ref.kind in _DERIVED:
            derived = object_id("wallet" if d.ref.kind == "wallet_id" else d.ref.kind, principal=None, command_id="c-1")
            assert derived in needs.account_ids | needs.hold_ids | needs.intent_ids or str(derived) in needs.wallet_refs


_PAYLOADS = sorted({s.payload for s in COMMANDS}, key=lambda m: m.__name__)


@pytest.mark.parametrize("model", _PAYLOADS, ids=[m.__name__ for m in _PAYLOADS])
def test_no_id_field_goes_undeclared(model: type[BaseModel]) -> None:
    """A UUID or wallet-reference field without a Ref would never be loaded: the command would be
    refused ``*_not_found`` for ever. Every such field must say what it refers to."""
    for name, info in model.model_fields.items():
        leaves = _leaves(info.annotation)
        if any(leaf is uuid.UUID for leaf in leaves) or "wallet" in name:
            assert any(isinstance(m, Ref) for m in info.metadata), f"{model.__name__}.{name} declares no Ref"
