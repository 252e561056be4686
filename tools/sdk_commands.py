"""The SDK's command methods, rendered from the catalogue (``tools/sdk_generate.py`` writes them).

Each ``Route`` of a ``CommandSpec`` is a method ``client.<resource>.<action>`` (its OpenAPI ``operationId``)
of a class ``Async<Resource>Commands`` in ``ledger_sdk/_async/_commands.py``, which the hand-written
resource (``AsyncHolds``…) extends with its reads. Its parameters are the request body's fields
(``http_gateway.bodies``, the gateway's own reading of the route): the path's parameters positionally, then
keyword-only the body's fields in the payload's order, a party (``debit_account_id``/``debit_wallet``) as
one ``Party`` argument named after it (or as :data:`PARTY_NAMES` says), an amount as ``Amount``.
"""

from __future__ import annotations

import inspect
import textwrap
import types
import typing
from datetime import date
from typing import Annotated, Any, Literal, Union
from uuid import UUID

from pydantic import BaseModel

from contracts.base import MinorUnits
from contracts.catalogue import COMMANDS
from contracts.refs import parties, references
from http_gateway.bodies import Plan, plan

#: What a method calls a party where the payload's name would read badly (``deposits.create(to=…)``).
PARTY_NAMES: dict[str, dict[str, str]] = {
    "deposits.create": {"customer": "to"},
    "bonuses.create": {"customer": "to"},
    "spends.create": {"customer": "source"},
    "withdrawals.create": {"customer": "source"},
}
HEADER = '''"""The command methods of the clients, one per route of the command catalogue.

Generated from contracts/catalogue.py by ``python tools/sdk_generate.py``; do not edit. Each class is the
base of the resource of the same name (``AsyncHolds`` extends ``AsyncHoldsCommands`` with its reads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Literal, Unpack
from uuid import UUID

from contracts.results import CommandResult
from ledger_sdk import _values as v
from ledger_sdk._async.client import AsyncResource, CallOptions, route
from ledger_sdk._values import Amount, Leg, Party

__all__ = [{names}]
'''


def _strip(annotation: Any) -> tuple[Any, bool]:
    """(the type without ``Annotated`` and ``| None``, whether ``None`` is allowed)."""
    optional = False
    while True:
        if typing.get_origin(annotation) is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is Union:
            args = [a for a in typing.get_args(annotation) if a is not types.NoneType]
            optional = optional or len(args) < len(typing.get_args(annotation))
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation, optional
        else:
            return annotation, optional


def _is_amount(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return any(isinstance(m, MinorUnits) for m in annotation.__metadata__)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is Union:
        return any(_is_amount(a) for a in typing.get_args(annotation))
    return False


def _render(annotation: Any, name: str) -> tuple[str, str]:
    """(the SDK type, the expression that makes the JSON value of the argument ``name``)."""
    if _is_amount(annotation):
        return "Amount", f'v.amount({name}, name="{name}")'
    base, _ = _strip(annotation)
    origin = typing.get_origin(base)
    if base is UUID:
        return "UUID | str", f"v.uuid_text({name})"
    if base is date:
        return "date", f"{name}.isoformat()"
    if base in (str, int, bool):
        return base.__name__, name
    if origin is Literal:
        return f"Literal[{', '.join(repr(a).replace(chr(39), chr(34)) for a in typing.get_args(base))}]", name
    if origin is dict:
        value, optional = _strip(typing.get_args(base)[1])
        return f"Mapping[str, {value.__name__}{' | None' if optional else ''}]", f"dict({name})"
    if origin is tuple:
        item = typing.get_args(base)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return f"Sequence[{item.__name__}]", f"[item.body() for item in {name}]"
        return f"Sequence[{_render(item, 'x')[0]}]", f"list({name})"
    raise TypeError(f"{name}: no SDK type for {annotation!r}")


def _method(p: Plan) -> list[str]:
    model, route = p.spec.payload, p.route
    action = route.operation.split(".")[1]
    kinds = {d.field: d.ref.kind for d in references(model)}
    signature = ["self"]
    path = route.path
    for param in route.params:
        wallet, named = kinds[param] == "wallet", kinds[param] == "recon_source"
        signature.append(f"{param}: {'Party' if wallet else 'str' if named else 'UUID | str'}")
        check = "v.path_ref" if wallet else "v.path_name" if named else "v.path_id"
        path = path.replace("{" + param + "}", "{" + f"{check}({param})" + "}")
    positional = len(signature)
    aliases = PARTY_NAMES.get(route.operation, {})
    pairs = {f: party for party in parties(model) for f in (party.account_field, party.wallet_field)}
    items: list[str] = []
    optional_args: list[str] = []
    for field in p.fields:
        party = pairs.get(field)
        if party is not None:
            if field != party.account_field:
                continue
            arg = aliases.get(party.name, party.name)
            prefix = party.account_field.removesuffix("account_id")
            if party.wallet_field != prefix + "wallet":
                raise TypeError(f"{model.__name__}.{party.name}: fields are not <prefix>account_id, <prefix>wallet")
            (optional_args if party.optional else signature).append(
                f"{arg}: Party{' | None = None' if party.optional else ''}"
            )
            items.append(f'**v.party("{prefix}", {arg})')
            continue
        info = model.model_fields[field]
        kind, value = _render(
            info.annotation if not info.metadata else Annotated[info.annotation, *info.metadata], field
        )
        if info.is_required():
            signature.append(f"{field}: {kind}")
            items.append(f'"{field}": {value}')
        else:
            optional_args.append(f"{field}: {kind} | None = None")
            given = f"{field}={value if value == field else f'None if {field} is None else {value}'}"
            if items and items[-1].startswith("**v.given("):
                items[-1] = items[-1][:-1] + f", {given})"
            else:
                items.append(f"**v.given({given})")
    signature += optional_args
    if len(signature) > positional:
        signature.insert(positional, "*")
    signature.append("**options: Unpack[CallOptions]")
    body = "None"
    if p.fields:
        body = "body" if p.required else "body or None"
    doc = inspect.cleandoc(model.__doc__ or p.spec.type).split("\n\n")[0].replace("\n", " ")
    wrapped = textwrap.wrap(f"{doc} (``{p.spec.type}``)", 104)
    lines = [
        f'    @route("{route.method}", "{route.path}")',
        f"    async def {action}({', '.join(signature)}) -> CommandResult:",
        f'        """{wrapped[0]}' + "".join(f"\n        {line}" for line in wrapped[1:]) + '"""',
    ]
    if p.fields:
        lines.append(f"        body = {{{', '.join(items)}}}")
    lines.append(f'        return await self._client.write("{route.method}", f"{path}", {body}, options)')
    return lines


def class_name(resource: str) -> str:
    """``AsyncPaymentIntentsCommands`` for ``payment_intents``."""
    return "Async" + "".join(part.capitalize() for part in resource.split("_")) + "Commands"


def render() -> str:
    """The module ``ledger_sdk/_async/_commands.py`` (before ``ruff format``)."""
    by_resource: dict[str, list[Plan]] = {}
    for spec in COMMANDS:
        for route in spec.routes:
            by_resource.setdefault(route.operation.split(".")[0], []).append(plan(spec, route))
    names = [class_name(r) for r in by_resource]
    out = [HEADER.format(names=", ".join(f'"{n}"' for n in sorted(names)))]
    for resource, plans in by_resource.items():
        out += [
            "",
            "",
            f"class {class_name(resource)}(AsyncResource):",
            f'    """``client.{resource}``: its commands."""',
        ]
        for p in plans:
            out += ["", *_method(p)]
    return "\n".join(out) + "\n"
