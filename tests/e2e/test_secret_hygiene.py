"""A whole run at DEBUG level (gateway, worker, relay, CLI), creating and using keys, logs no secret."""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.signing import parse_keys
from ledger_cli.processes import Processes
from tests.e2e.access import bearer, idem, make_key
from tests.e2e.conftest import subscribe

pytestmark = pytest.mark.e2e


def _with_password(url: str, password: str) -> str:
    # The test server trusts local connections, so the password is ignored, but it is in every URL.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}:{parts.port}"))


def _secret_part(api_key: str) -> str:
    """``lk_test_<public id>_<secret>`` -> ``<secret>``, which may itself contain ``_`` (base64url)."""
    return api_key.split("_", 3)[3]


async def test_no_secret_in_the_logs_of_a_full_run(isolated: Processes, amqp: AbstractRobustConnection) -> None:
    db_password = f"dbpw-{uuid.uuid4().hex}"
    s = isolated.settings.model_copy(
        update={
            "log_level": "DEBUG",
            "reply_timeout_seconds": 30.0,  # a busy machine must not turn a write into a 202 here
            "database_url": type(isolated.settings.database_url)(
                _with_password(isolated.settings.database_url.get_secret_value(), db_password)
            ),
        }
    )
    isolated.settings = s
    for name in ("worker", "relay", "gateway"):
        isolated.start(name)
    sub = await subscribe(amqp, s)
    service = s.service_api_key.get_secret_value()
    cli = await asyncio.to_thread(isolated.run_cli, "keys", "create", "--name", "cli key", "--scope", "read", "--json")
    cli_secret = json.loads(cli.stdout)["secret"]  # stdout is the one place a secret is meant to go

    async with httpx.AsyncClient(base_url=isolated.base_url, timeout=30, headers=bearer(service)) as admin:
        key = await make_key(admin, ["wallets", "deposit", "read"], rate=(0.01, 4))
        k = bearer(key["secret"])
        r = await admin.post("/v1/accounts", json={"currency": "USD"}, headers={**idem(), **k})
        account = r.json()["account_id"]
        await admin.post(
            "/v1/deposits", json={"account_id": account, "amount": 5, "currency": "USD"}, headers={**idem(), **k}
        )
        await admin.get(f"/v1/accounts/{account}", headers=bearer(cli_secret))
        for _ in range(3):  # the last ones are rate limited
            await admin.get(f"/v1/accounts/{account}", headers=k)
        await admin.get("/v1/accounts/x", headers=bearer(key["secret"][:-3] + "AAA"))  # wrong secret
        await admin.delete(f"/v1/admin/keys/{key['id']}")
        assert (await admin.get(f"/v1/accounts/{account}", headers=k)).status_code == 401
    await sub.wait_for(lambda evs: any(e.type == "account.credited" for e in evs))
    isolated.stop_all()

    logs = {name: isolated.log(name) for name in ("gateway", "worker", "relay")} | {"cli": cli.stderr}
    assert "DEBUG" in logs["gateway"] + logs["worker"] + logs["relay"]
    assert f"refused API key {key['prefix']}" in logs["gateway"] and "rate limited API key" in logs["gateway"]
    secrets = {
        "service key": service,
        "pepper": s.api_key_pepper.get_secret_value(),
        "database password": db_password,
        "api key": key["secret"],
        "api key secret part": _secret_part(key["secret"])[-40:],
        "cli key": cli_secret,
        "cli key secret part": _secret_part(cli_secret)[-40:],
        **{f"signing key {kid}": v.decode() for kid, v in parse_keys(s.event_signing_keys.get_secret_value()).items()},
    }
    leaks = [(what, name) for what, value in secrets.items() for name, text in logs.items() if value in text]
    assert not leaks, leaks
