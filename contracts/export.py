"""Write every generated contract file (``make schemas``): the JSON Schemas of every public message in
``contracts/schemas``, the AsyncAPI document ``contracts/asyncapi.json``, the command catalogue table
of docs/topology.md and the capability and bounds tables of docs/security.md. Tests check each committed file equals
its rendering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts import asyncapi, bounds, capabilities, catalogue_table
from contracts.commands import COMMAND_ADAPTER, COMMAND_CLASSES
from contracts.events import EventEnvelope
from contracts.keys import KeyEvent
from contracts.results import CommandResult

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
ASYNCAPI_FILE = Path(__file__).resolve().parent / "asyncapi.json"
SECURITY_DOC = Path(__file__).resolve().parent.parent / "docs" / "security.md"

_MODELS: dict[str, type[BaseModel]] = {
    **{f"command.{kind}.v1": cls for kind, cls in COMMAND_CLASSES.items()},
    "event.v1": EventEnvelope,
    "event.key.v1": KeyEvent,
    "command-result.v1": CommandResult,
}


def _text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def render() -> dict[str, str]:
    """File name -> schema text, exactly as committed."""
    files = {f"{name}.json": _text(model.model_json_schema()) for name, model in _MODELS.items()}
    files["command.v1.json"] = _text(COMMAND_ADAPTER.json_schema())
    return files


def main() -> None:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for stale in SCHEMA_DIR.glob("*.json"):
        stale.unlink()
    schemas = render()
    for name, text in schemas.items():
        (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {len(schemas)} schemas to {SCHEMA_DIR}")
    ASYNCAPI_FILE.write_text(asyncapi.render())
    print(f"wrote {ASYNCAPI_FILE}")
    doc = catalogue_table.TOPOLOGY_DOC
    doc.write_text(catalogue_table.splice(doc.read_text()))
    print(f"wrote the command catalogue table of {doc}")
    SECURITY_DOC.write_text(bounds.replace_in(capabilities.replace_in(SECURITY_DOC.read_text())))
    print(f"wrote the capability and bounds tables of {SECURITY_DOC}")


if __name__ == "__main__":
    main()
