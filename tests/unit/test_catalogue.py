"""Every place that names the command types names the same ones as ``contracts.catalogue``.

The sources: the catalogue itself, the envelope classes and the discriminator of their union, the
schemas on disk, the AsyncAPI document, the worker's rule table, the docs' catalogue table and the
gateway's command routes (which cover the types with a route). A disagreement names the source and
the type; each source is shown to be read by removing one entry from a copy of it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Union

import pytest
from pydantic import Field, TypeAdapter

from contracts.catalogue import COMMANDS, CommandSpec
from contracts.catalogue_table import TOPOLOGY_DOC, splice, types_in
from contracts.commands import COMMAND_ADAPTER, COMMAND_CLASSES, Command
from contracts.export import ASYNCAPI_FILE, SCHEMA_DIR
from http_gateway.app import create_app
from http_gateway.writes import served_commands
from ledger_common.settings import Settings
from ledger_worker.rules import RULES

Json = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Sources:
    """What each place that names command types says, as read from the repository (or a copy)."""

    specs: tuple[CommandSpec, ...]
    classes: Mapping[str, type[Command]]
    adapter: TypeAdapter[Command]
    schema_dir: Path
    asyncapi: Json
    rules: Mapping[str, object]
    docs: str
    routes: Mapping[tuple[str, str], tuple[str, object]]


def committed() -> Sources:
    app = create_app(Settings())  # built, not started: no database or broker needed
    return Sources(
        specs=COMMANDS,
        classes=COMMAND_CLASSES,
        adapter=COMMAND_ADAPTER,
        schema_dir=SCHEMA_DIR,
        asyncapi=json.loads(ASYNCAPI_FILE.read_text()),
        rules=RULES,
        docs=TOPOLOGY_DOC.read_text(),
        routes=served_commands(app.routes),
    )


def _asyncapi_types(doc: Json) -> set[str]:
    messages = doc["components"]["messages"]
    return {messages[ref["$ref"].rsplit("/", 1)[1]]["name"] for ref in doc["channels"]["commands"]["messages"].values()}


def _mapping(schema: Json) -> set[str]:
    return set(schema["discriminator"]["mapping"])


CATALOGUE = "contracts.catalogue.COMMANDS"
GATEWAY = "the gateway's command routes (http_gateway.writes.served_commands)"
UNION_FILE = "command.v1.json"
READ: dict[str, Callable[[Sources], set[str]]] = {
    CATALOGUE: lambda s: {spec.type for spec in s.specs},
    "contracts.commands.COMMAND_CLASSES": lambda s: set(s.classes),
    "the discriminator of contracts.commands.COMMAND_ADAPTER": lambda s: _mapping(s.adapter.json_schema()),
    "the files contracts/schemas/command.<type>.v1.json": lambda s: {
        p.name.removeprefix("command.").removesuffix(".v1.json") for p in s.schema_dir.glob("command.*.v1.json")
    },
    f"the discriminator of contracts/schemas/{UNION_FILE}": lambda s: _mapping(
        json.loads((s.schema_dir / UNION_FILE).read_text())
    ),
    "the commands channel of contracts/asyncapi.json": lambda s: _asyncapi_types(s.asyncapi),
    "ledger_worker.rules.RULES": lambda s: set(s.rules),
    "the catalogue table of docs/topology.md": lambda s: set(types_in(s.docs)),
    GATEWAY: lambda s: {kind for kind, _ in s.routes.values()},
}


def disagreements(sources: Sources) -> list[str]:
    """What each source lacks or has beyond the catalogue, one line per type."""
    declared = READ[CATALOGUE](sources)
    routed = {spec.type for spec in sources.specs if spec.routes}
    found = []
    for name, read in READ.items():
        expected, named = (routed if name == GATEWAY else declared), read(sources)
        found += [f"{name} lacks {kind}" for kind in sorted(expected - named)]
        found += [f"{name} names {kind}, which the catalogue does not declare" for kind in sorted(named - expected)]
    return found


def test_every_source_names_the_catalogue_types() -> None:
    assert disagreements(committed()) == []


def test_the_docs_table_is_rendered_from_the_catalogue() -> None:
    text = TOPOLOGY_DOC.read_text()
    assert text == splice(text), "run `make schemas` and commit docs/topology.md"
    assert types_in(text) == [spec.type for spec in COMMANDS]


# Removing one entry from a copy of each source ------------------------------------------------------------

VICTIM = "transfer"  # a type with a route, so that the gateway has it too


def _union(classes: Mapping[str, type[Command]]) -> TypeAdapter[Command]:
    union: Any = Annotated[Union[tuple(classes.values())], Field(discriminator="type")]  # noqa: UP007
    return TypeAdapter(union)


def _schemas_copy(directory: Path, edit: Callable[[Path], None]) -> Path:
    copy = directory / "schemas"
    shutil.copytree(SCHEMA_DIR, copy)
    edit(copy)
    return copy


def _without_union_entry(directory: Path) -> None:
    schema = json.loads((directory / UNION_FILE).read_text())
    del schema["discriminator"]["mapping"][VICTIM]
    (directory / UNION_FILE).write_text(json.dumps(schema))


def _without_asyncapi_message(doc: Json) -> Json:
    copy: Json = json.loads(json.dumps(doc))
    del copy["channels"]["commands"]["messages"][VICTIM]
    return copy


def _without_docs_row(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith(f"| `{VICTIM}` |"))


def _classes_without(s: Sources) -> Sources:
    return dataclasses.replace(s, classes={k: v for k, v in s.classes.items() if k != VICTIM})


REMOVE: dict[str, Callable[[Sources, Path], Sources]] = {
    CATALOGUE: lambda s, _: dataclasses.replace(s, specs=tuple(x for x in s.specs if x.type != VICTIM)),
    "contracts.commands.COMMAND_CLASSES": lambda s, _: _classes_without(s),
    "the discriminator of contracts.commands.COMMAND_ADAPTER": lambda s, _: dataclasses.replace(
        s, adapter=_union(_classes_without(s).classes)
    ),
    "the files contracts/schemas/command.<type>.v1.json": lambda s, tmp: dataclasses.replace(
        s, schema_dir=_schemas_copy(tmp, lambda d: (d / f"command.{VICTIM}.v1.json").unlink())
    ),
    f"the discriminator of contracts/schemas/{UNION_FILE}": lambda s, tmp: dataclasses.replace(
        s, schema_dir=_schemas_copy(tmp, _without_union_entry)
    ),
    "the commands channel of contracts/asyncapi.json": lambda s, _: dataclasses.replace(
        s, asyncapi=_without_asyncapi_message(s.asyncapi)
    ),
    "ledger_worker.rules.RULES": lambda s, _: dataclasses.replace(
        s, rules={k: v for k, v in s.rules.items() if k != VICTIM}
    ),
    "the catalogue table of docs/topology.md": lambda s, _: dataclasses.replace(s, docs=_without_docs_row(s.docs)),
    GATEWAY: lambda s, _: dataclasses.replace(s, routes={k: v for k, v in s.routes.items() if v[0] != VICTIM}),
}


def test_every_source_can_be_removed_from() -> None:
    assert set(REMOVE) == set(READ)


@pytest.fixture(scope="module")
def sources() -> Sources:
    return committed()


@pytest.mark.parametrize("source", READ)
def test_a_type_missing_from_one_source_is_named(sources: Sources, source: str, tmp_path: Path) -> None:
    damaged = REMOVE[source](sources, tmp_path)
    if source == CATALOGUE:  # then every other source names a type the catalogue lacks
        expected = [f"{name} names {VICTIM}, which the catalogue does not declare" for name in READ if name != source]
    else:
        expected = [f"{source} lacks {VICTIM}"]
    assert disagreements(damaged) == expected


def test_the_events_table_is_rendered_from_the_event_types() -> None:
    from contracts import events_table
    from contracts.events import PAYLOADS

    text = events_table.TOPOLOGY_DOC.read_text()
    assert text == events_table.splice(text), "run `make generate` and commit docs/topology.md"
    assert set(PAYLOADS.values()) <= set(events_table.ROWS), "a payload model without its row in events_table.ROWS"
