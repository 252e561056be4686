"""Write the JSON Schemas of every public message into ``contracts/schemas`` (``make schemas``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts.commands import COMMAND_ADAPTER, COMMAND_CLASSES
from contracts.events import EventEnvelope
from contracts.keys import KeyEvent
from contracts.results import CommandResult

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

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
    for name, text in render().items():
        (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {len(render())} schemas to {SCHEMA_DIR}")


if __name__ == "__main__":
    main()
