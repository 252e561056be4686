"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis).

Runs against the real gateway process (with worker and relay behind it), authenticated, with every
schemathesis check: no 5xx, only documented status codes, content types, headers and bodies,
schema-valid requests accepted, schema-invalid ones rejected, authentication not ignored.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from http_gateway.app import create_app
from ledger_common.settings import Settings
from tests.processes import System

pytestmark = pytest.mark.e2e

#: Examples per operation in the fuzzing phase; keeps the whole test well under a minute here.
MAX_EXAMPLES = 50
ENTRIES = "/v1/accounts/{account_id}/entries"
#: schemathesis' defaults for a schema-valid request.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
WRITES = ("/v1/accounts", "/v1/deposits", "/v1/withdrawals", "/v1/transfers")

# The document is the app's own; test_served_document_is_the_one_fuzzed checks the gateway serves it.
# (schemathesis' lazy fixture loader does not run on pytest 9, so the schema is built at import.)
DOCUMENT: dict[str, Any] = create_app(Settings()).openapi()
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261125,
        "generation": {"max-examples": MAX_EXAMPLES},
        # 422 is how this API answers what a JSON Schema cannot tell from valid: an integer written
        # 46375.0 (JSON Schema calls it an integer; amounts are refused unless written as integers),
        # 2**63+191 (equal to the 2**63-1 maximum as a double, which the generator compares with),
        # a transfer to the same account, and business refusals (insufficient_funds, ...).
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        "operations": [
            {
                # A cursor is opaque: a well-formed string the API never issued is answered with the
                # documented 400 invalid_cursor, as an unknown id is answered 404.
                "include-path": ENTRIES,
                "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_served_document_is_the_one_fuzzed(system: System) -> None:
    assert httpx.get(f"{system.base_url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case: Case[Any], system: System) -> None:
    if case.method == "POST":
        # The gateway requires 1-128 of [A-Za-z0-9._:-] but writes.py documents an optional free
        # string (see the xfail below); until it declares that, every write carries a valid key.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    token = system.settings.service_api_key.get_secret_value()
    case.call_and_validate(base_url=system.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.mark.xfail(strict=True, reason="http_gateway/writes.py declares Idempotency-Key optional and unconstrained")
@pytest.mark.parametrize("path", WRITES)
def test_writes_declare_the_idempotency_key_they_require(path: str) -> None:
    params = {p["name"]: p for p in DOCUMENT["paths"][path]["post"]["parameters"]}
    key = params["Idempotency-Key"]
    assert key["required"] is True, json.dumps(key)
    assert key["schema"].get("pattern") == "^[A-Za-z0-9._:\\-]{1,128}$", json.dumps(key)


def test_method_not_allowed_says_which_methods_are(system: System) -> None:
    r = httpx.delete(f"{system.base_url}/v1/deposits")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.headers["content-type"] == "application/problem+json" and r.json()["code"] == "method_not_allowed"
