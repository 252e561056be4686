"""contracts/signing_vectors.json: our implementation and an independent Node.js verifier agree on every case."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contracts.signing import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    SIGNED_AT_HEADER,
    SignatureError,
    check,
    sign,
    string_to_sign,
    verify,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "contracts" / "signing_vectors.json"
#: One independent Node.js verifier checks both vector files: the signature and the chain's (test_chain_vectors).
NODE_VERIFIER = ROOT / "examples" / "node-chain-verifier" / "verify.mjs"
CHAIN_VECTORS = ROOT / "contracts" / "chain_vectors.json"
DOC: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = DOC["cases"]


def _body(case: dict[str, Any]) -> bytes:
    return base64.b64decode(case["message"]["body_base64"], validate=True)


def _fields(case: dict[str, Any]) -> dict[str, Any]:
    m = case["message"]
    return {
        "routing_key": m["routing_key"],
        "message_id": m["message_id"],
        "message_type": m["type"],
        "body": _body(case),
    }


def _keys(case: dict[str, Any]) -> dict[str, bytes]:
    return {kid: secret.encode() for kid, secret in case["keys"].items()}


def test_the_vectors_cover_what_a_forger_could_change() -> None:
    names = {c["name"] for c in CASES if not c["valid"]}
    for changed in ("routing key", "message_id", "type", "body", "signed_at"):
        assert f"{changed} changed" in names
    assert sum(c["valid"] for c in CASES) >= 5 and len(names) >= 15
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_our_implementation_agrees_with_every_vector(case: dict[str, Any]) -> None:
    message = case["message"]
    if "body_text" in message:
        assert message["body_text"].encode() == _body(case)
    assert verify(**_fields(case), headers=message["headers"], keys=_keys(case), **case["options"]) is case["valid"]
    if not case["valid"]:
        with pytest.raises(SignatureError):
            check(**_fields(case), headers=message["headers"], keys=_keys(case), **case["options"])
    if "string_to_sign_base64" in case:  # a v2 case: rebuilt and re-signed, the same bytes and headers
        headers = message["headers"]
        data = string_to_sign(signed_at=headers[SIGNED_AT_HEADER], **_fields(case))
        assert data == base64.b64decode(case["string_to_sign_base64"])
        kid = headers[KEY_ID_HEADER]
        resigned = sign(**_fields(case), keys={kid: _keys(case)[kid]}, signed_at=int(headers[SIGNED_AT_HEADER]))
        assert resigned == headers


def test_the_first_vector_follows_the_documented_recipe_by_hand() -> None:
    case = CASES[0]
    m, h = case["message"], case["message"]["headers"]
    text = "v2\n" + "\n".join([h[SIGNED_AT_HEADER], m["routing_key"], m["message_id"], m["type"]]) + "\n"
    digest = hmac.new(case["keys"][h[KEY_ID_HEADER]].encode(), text.encode() + _body(case), hashlib.sha256)
    assert h[SIGNATURE_HEADER] == "v2=" + digest.hexdigest()


def test_fields_shifted_across_line_feeds_have_a_genuine_hmac_yet_fail() -> None:
    """Why no text field may contain an LF: without that rule this forgery would verify."""
    shifted = next(c for c in CASES if c["name"] == "fields shifted across line feeds")
    genuine = next(c for c in CASES if c["valid"] and c["message"]["headers"] == shifted["message"]["headers"])
    m = shifted["message"]
    naive = f"v2\n{m['headers'][SIGNED_AT_HEADER]}\n{m['routing_key']}\n{m['message_id']}\n{m['type']}\n".encode()
    assert naive + _body(shifted) == base64.b64decode(genuine["string_to_sign_base64"])
    with pytest.raises(SignatureError, match="line feed"):
        check(**_fields(shifted), headers=m["headers"], keys=_keys(shifted))


def test_the_vectors_are_what_the_generator_writes() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "signing" / "make_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def _node(vectors: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "node is required (every machine of this project has node 20)"
    argv = [node, str(NODE_VERIFIER), str(CHAIN_VECTORS), str(vectors)]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)


def test_an_independent_node_verifier_agrees_with_every_vector() -> None:
    run = _node(VECTORS)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{len(CASES)} signature cases, 0 failed" in run.stdout
    refused = sum(1 for line in run.stdout.splitlines() if line.startswith("ok   signature:") and "(refused:" in line)
    assert refused == sum(not c["valid"] for c in CASES)


def test_the_node_verifier_fails_a_wrong_vector(tmp_path: Path) -> None:
    """It really checks: flipping one expected outcome, or one byte of a string to sign, fails it."""
    for mutate in ("outcome", "string_to_sign"):
        doc = json.loads(VECTORS.read_text(encoding="utf-8"))
        case = doc["cases"][0]
        if mutate == "outcome":
            case["valid"] = False
        else:
            data = bytearray(base64.b64decode(case["string_to_sign_base64"]))
            data[-1] ^= 1
            case["string_to_sign_base64"] = base64.b64encode(bytes(data)).decode()
        path = tmp_path / f"{mutate}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        run = _node(path)
        assert run.returncode == 1 and f"FAIL signature: {case['name']}" in run.stdout, (mutate, run.stdout, run.stderr)
