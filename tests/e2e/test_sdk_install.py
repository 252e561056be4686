"""The SDK as a user gets it: ``pip install ./sdk`` into a fresh virtualenv, and nothing of the server.

The venv is made with this interpreter's ``python -m venv`` and installed from ``sdk/`` with the pins
of constraints.txt (pip's own configuration says where packages come from, as for ``make venv``).
pip builds in the source tree (``build/``, ``*.egg-info``), so the test installs from a copy of ``sdk/``
with its symlinks followed: no stale build output of another run gets in, and concurrent runs do not
share one build directory. It
must not contain a server package, must import the SDK, and runs examples/merchant_refund.py with its
own python, from a directory outside the repository and without ``PYTHONPATH``, so the installed copy is
the one used. The ledger it talks to is the session's ``system`` fixture: gateway, worker and relay as
real processes, which is what ``make run`` starts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_cli.processes import Processes

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
#: Distributions of the server (and of the SDK's ``amqp`` extra) that a plain SDK install must not bring.
SERVER_PACKAGES = {"fastapi", "asyncpg", "alembic", "sqlalchemy", "uvicorn", "aio-pika", "aiormq", "starlette"}


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{argv} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with only ``./sdk`` installed; its ``bin`` directory."""
    where = tmp_path_factory.mktemp("sdk-venv")
    source, venv = where / "sdk", where / "venv"
    shutil.copytree(ROOT / "sdk", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    _run([sys.executable, "-m", "venv", str(venv)], cwd=where)
    pip = str(venv / "bin" / "pip")
    _run([pip, "install", "-q", "-c", str(ROOT / "constraints.txt"), str(source)], cwd=where)
    return venv / "bin"


def _clean_env() -> dict[str, str]:
    """The environment without anything that would put the repository on the path."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}


def test_a_fresh_venv_has_the_sdk_and_no_server_package(sdk_venv: Path, tmp_path: Path) -> None:
    listed = _run([str(sdk_venv / "pip"), "list", "--format=freeze"], cwd=tmp_path)
    installed = {line.split("==")[0].lower().replace("_", "-") for line in listed.splitlines() if line}
    assert "ledger-sdk" in installed and {"httpx", "pydantic"} <= installed
    assert not installed & SERVER_PACKAGES, installed & SERVER_PACKAGES
    assert "ledger" not in installed  # the server's own distribution

    probe = (
        "import sys, ledger_sdk, contracts, contracts.http, contracts.events, contracts.signing, contracts.commands\n"
        "print(ledger_sdk.__path__[0]); print(contracts.__path__[0])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aio_pika', 'http_gateway', 'ledger_common'}))\n"
    )
    sdk, contracts, loaded = _run([str(sdk_venv / "python"), "-c", probe], cwd=tmp_path, env=_clean_env()).split()
    for package in (Path(sdk), Path(contracts)):
        assert package.is_relative_to(sdk_venv.parent / "lib"), package  # the installed copy, not a source tree
        assert (package / "py.typed").exists()  # mypy reads the types of both
    assert (Path(contracts) / "schemas" / "event.v1.json").exists()
    assert loaded == "[]"  # no broker client, nothing of the server


def test_an_example_runs_with_only_the_installed_sdk(sdk_venv: Path, system: Processes, tmp_path: Path) -> None:
    env = {
        **_clean_env(),
        "LEDGER_URL": system.base_url,
        "LEDGER_API_KEY": system.settings.service_api_key.get_secret_value(),
    }
    script = tmp_path / "merchant_refund.py"  # away from the repository: only the installed SDK is importable
    script.write_text((ROOT / "examples" / "merchant_refund.py").read_text())
    out = _run([str(sdk_venv / "python"), str(script)], cwd=tmp_path, env=env)
    assert "status paid, paid 25.00 USD, refunded 10.00 USD" in out
    assert any(line.startswith("@reader_") and line.endswith("balance: 25.00 USD") for line in out.splitlines())
