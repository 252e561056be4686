"""contracts/chain_vectors.json: our code and an independent Node.js verifier agree on every hash-chain case."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contracts.chain import GENESIS, event_entry_hash, event_text
from contracts.events import BalanceChanged, parse_event
from contracts.signing import verify

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "contracts" / "chain_vectors.json"
SIGNING = ROOT / "contracts" / "signing_vectors.json"
NODE_VERIFIER = ROOT / "examples" / "node-chain-verifier" / "verify.mjs"
DOC: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = DOC["cases"]


def _first_break(case: dict[str, Any]) -> int | None:
    """Where our code finds the chain broken (signatures checked first), or None."""
    keys = {kid: secret.encode() for kid, secret in DOC["keys"].items()}
    head = GENESIS.hex()
    for i, entry in enumerate(case["events"]):
        body = entry["body_text"].encode()
        fields = {"routing_key": entry["routing_key"], "message_id": entry["message_id"], "message_type": entry["type"]}
        assert verify(**fields, body=body, headers=entry["headers"], keys=keys), (case["name"], i)
        event = parse_event(body)
        assert isinstance(event.payload, BalanceChanged)
        if event.payload.previous_hash != head or event_entry_hash(event) != event.payload.entry_hash:
            return i
        if "text" in entry:
            assert event_text(event) == entry["text"]
            tail = [entry["signed_amount"], str(event.payload.balance_after), entry["micros"]]
            assert entry["text"].split("|")[4:] == tail
        head = event.payload.entry_hash
    return None


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_our_code_agrees_with_every_vector(case: dict[str, Any]) -> None:
    assert _first_break(case) == case.get("breaks_at")
    assert case["valid"] is ("breaks_at" not in case)


def test_the_first_vector_follows_the_documented_recipe_by_hand() -> None:
    entry = CASES[0]["events"][1]  # the debit: a negative signed amount, microseconds in the time
    event = json.loads(entry["body_text"])
    p = event["payload"]
    parts = [event["account_id"], p["transaction_id"], p["command_type"], p["currency"], f"-{p['amount']}"]
    text = "|".join([*parts, str(p["balance_after"]), "1767225601000001"])
    assert text == entry["text"]
    assert hashlib.sha256(bytes.fromhex(p["previous_hash"]) + text.encode()).hexdigest() == p["entry_hash"]


def test_the_vectors_cover_each_misreading_and_big_amounts() -> None:
    names = {c["name"] for c in CASES if not c["valid"]}
    for misreading in ("hex text", "unsigned", "command type", "milliseconds", "dropped", "reordered"):
        assert any(misreading in n for n in names), misreading
    amounts = [json.loads(e["body_text"])["payload"]["balance_after"] for c in CASES for e in c["events"]]
    assert max(amounts) > 2**53 and min(amounts) < 0  # beyond JavaScript's exact Numbers; a credit line


def test_the_vectors_are_what_the_generator_writes() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "chain" / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def _node(*paths: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is required (every machine of this project has node 20)"
    argv = [node, str(NODE_VERIFIER), *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


def test_an_independent_node_verifier_agrees_with_every_chain_and_signature_vector() -> None:
    run = _node()
    signing = len(json.loads(SIGNING.read_text(encoding="utf-8"))["cases"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(CASES)} chain cases, {signing} signature cases, 0 failed" in run.stdout


def test_the_node_verifier_fails_a_wrong_vector(tmp_path: Path) -> None:
    """It really checks: a valid chain said invalid, or one of its steps changed, fails it."""
    for mutate in ("outcome", "micros"):
        doc = json.loads(VECTORS.read_text(encoding="utf-8"))
        case = doc["cases"][0]
        if mutate == "outcome":
            case["valid"], case["breaks_at"] = False, 2
        else:
            case["events"][2]["micros"] = "1767225602123000"
        path = tmp_path / f"{mutate}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        run = _node(path, SIGNING)
        assert run.returncode == 1 and f"FAIL chain: {case['name']}" in run.stdout, (mutate, run.stdout, run.stderr)
