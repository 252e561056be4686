"""A client generated from the gateway's ``/openapi.json`` by an outside team's tool (openapi-python-client,
pinned in constraints.txt, installed by ``make openapi-client-tools`` into .venv-openapi) has every operation,
named by its ``operationId``, and sends every command route of the catalogue to the real processes.

The generated client runs in that venv (it is not a dependency of ours): this test writes the jobs (an
example of each route, ``tests/examples.py``), runs a driver there, and reads what each call answered.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.catalogue import COMMANDS
from ledger_cli.processes import Processes
from tests import examples
from tests.e2e.api import every_command_example

pytestmark = pytest.mark.e2e

VENV = Path(__file__).resolve().parents[2] / ".venv-openapi" / "bin"
PACKAGE = "ledger_client"

# Runs in .venv-openapi: imports the generated package, makes each call, prints one JSON line per call.
DRIVER = """
import importlib, json, pathlib, sys, uuid
sys.path.insert(0, sys.argv[1])
from ledger_client import AuthenticatedClient, models
client = AuthenticatedClient(base_url=sys.argv[2], token=sys.argv[3], timeout=30)
api = pathlib.Path(sys.argv[1]) / "ledger_client" / "api"
for job in json.loads(pathlib.Path(sys.argv[4]).read_text()):
    name = job["operation"].replace(".", "_")
    (found,) = list(api.glob(f"*/{name}.py"))
    module = importlib.import_module(f"ledger_client.api.{found.parent.name}.{name}")
    kwargs = {"client": client, "idempotency_key": job["key"]}
    if job["model"] is not None:
        kwargs["body"] = getattr(models, job["model"]).from_dict(job["body"])
    path = [uuid.UUID(v) if k not in ("wallet", "source") else v for k, v in job["path"].items()]
    response = module.sync_detailed(*path, **kwargs)
    parsed = response.parsed
    shown = parsed.to_dict() if hasattr(parsed, "to_dict") else None
    print(json.dumps({"operation": job["operation"], "status": int(response.status_code),
                      "parsed": type(parsed).__name__, "result": shown}))
"""


def _tool(name: str) -> str:
    path = VENV / name
    assert path.exists(), f"{path} is missing: run `make openapi-client-tools` (make test does)"
    return str(path)


def _run(argv: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False, **options)


def _body_model(document: dict[str, Any], method: str, path: str) -> str | None:
    """The name of the request body's schema of an operation (through ``anyOf [model, null]``)."""
    body = document["paths"][path][method.lower()].get("requestBody")
    if body is None:
        return None
    schema = body["content"]["application/json"]["schema"]
    refs = [schema] if "$ref" in schema else [s for s in schema.get("anyOf", []) if "$ref" in s]
    return str(refs[0]["$ref"].rsplit("/", 1)[1])


async def _jobs(client: httpx.AsyncClient, document: dict[str, Any]) -> list[dict[str, Any]]:
    """One call per command route, each acting on objects of its own."""
    jobs = []
    for _, route, payload in await every_command_example(client):
        _, path, body = examples.request(route, payload)
        values = {t[1:-1]: v for t, v in zip(route.path.split("/"), path.split("/"), strict=True) if t[0:1] == "{"}
        model = _body_model(document, route.method, route.path)
        jobs.append({"operation": route.operation, "path": values, "model": model, "body": body, "key": examples.key()})
    return jobs


async def test_a_generated_client_has_every_operation_and_sends_every_command(
    system: Processes, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    document = (await client.get("/openapi.json")).json()
    (tmp_path / "openapi.json").write_text(json.dumps(document))
    env = {**os.environ, "PATH": f"{VENV}{os.pathsep}{os.environ['PATH']}"}  # its ruff formats what it writes
    argv = [_tool("openapi-python-client"), "generate", "--path", "openapi.json", "--output-path", "client"]
    made = await asyncio.to_thread(_run, argv, cwd=tmp_path, env=env)
    assert made.returncode == 0 and "Warning" not in made.stdout + made.stderr, made.stdout + made.stderr
    operations = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    generated = {p.stem for p in (tmp_path / "client" / PACKAGE / "api").glob("*/*.py") if p.stem != "__init__"}
    assert generated == {o.replace(".", "_") for o in operations}, "an operation the generated client lacks"

    jobs = await _jobs(client, document)
    (tmp_path / "jobs.json").write_text(json.dumps(jobs))
    token = system.settings.service_api_key.get_secret_value()
    argv = [
        _tool("python"),
        "-c",
        DRIVER,
        str(tmp_path / "client"),
        system.base_url,
        token,
        str(tmp_path / "jobs.json"),
    ]
    ran = await asyncio.to_thread(_run, argv)
    assert ran.returncode == 0, ran.stderr[-4000:]
    answers = [json.loads(line) for line in ran.stdout.splitlines()]
    assert [a["operation"] for a in answers] == [j["operation"] for j in jobs]
    routes = {r.operation: (spec, r) for spec in COMMANDS for r in spec.routes}
    for a in answers:
        spec, _ = routes[a["operation"]]
        assert a["status"] == (201 if spec.creates else 200), a
        assert a["parsed"] == "CommandResult" and a["result"]["status"] == "applied", a
        assert a["result"]["command_type"] == spec.type, a
    assert {a["operation"] for a in answers} == set(routes), "a command route was not driven"
    print(f"\n{len(generated)} operations generated, {len(answers)} command routes driven", file=sys.stderr)
