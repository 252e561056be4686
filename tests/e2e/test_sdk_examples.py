"""The scripts in examples/ run as a user runs them: a subprocess against the real gateway, worker and relay.

Each reads ``LEDGER_URL`` and ``LEDGER_API_KEY`` (and, for the AMQP one, the broker, namespace and
signing keys) from its environment, makes its own uniquely named wallets, tells its story and exits 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_cli.processes import Processes

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run_example(system: Processes, name: str, *args: str, **extra_env: str) -> str:
    """Run ``examples/<name>`` with this interpreter and the repository on its path; its stdout."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LEDGER_URL": system.base_url,
        "LEDGER_API_KEY": system.settings.service_api_key.get_secret_value(),
        **extra_env,
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def test_agent_wallet(system: Processes) -> None:
    out = run_example(system, "agent_wallet.py")
    assert "agent: my balance is 100.00 USD" in out
    assert "agent: paid 15.00 USD to @coffee_" in out
    assert "refused: exceeds_key_limit (422)" in out
    assert "was refused: wrong_wallet (403)" in out
    assert "agent: my balance is now 85.00 USD" in out
    assert "service: revoked key" in out


def test_merchant_refund(system: Processes) -> None:
    out = run_example(system, "merchant_refund.py")
    assert "paying it again is refused: intent_not_payable" in out
    assert "status paid, paid 25.00 USD, refunded 10.00 USD" in out
    lines = out.splitlines()
    assert any(line.startswith("@reader_") and line.endswith("balance: 25.00 USD") for line in lines), out
    assert any(line.startswith("@bookshop_") and line.endswith("balance: 15.00 USD") for line in lines), out


def test_balance_projection(system: Processes) -> None:
    s = system.settings
    out = run_example(
        system,
        "balance_projection.py",
        "--queue-prefix",
        f"{s.ledger_namespace}projection",  # named after the session (the example deletes its queue)
        AMQP_URL=s.amqp_url.get_secret_value(),
        LEDGER_NAMESPACE=s.ledger_namespace,
        EVENT_SIGNING_KEYS=s.event_signing_keys.get_secret_value(),
    )
    assert "projection after" in out
    assert "deposit +5000 -> balance_after 5000" in out
    assert "transfer -1250 -> balance_after 3750" in out  # alice: 50.00 - 12.50
    assert "spend -200 -> balance_after 1050" in out  # bob: 12.50 - 2.00
