"""The real gateway process, unchanged, against real PostgreSQL: a programming error in a read route is a
500 ``internal_error`` whose ``trace_id`` finds the traceback in the gateway's log; a database it cannot
reach is a 503 to retry. Before, both were 503s.

The programming error is provoked from outside: the schema drifts under the gateway (a column its
query names is renamed), which is what an undefined column in a route's SQL looks like at run time.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from ledger_cli.chaos.proxy import Proxy
from ledger_cli.processes import Processes

pytestmark = pytest.mark.e2e


async def test_a_read_route_failing_is_a_500_with_a_trace_id_and_an_unreachable_database_a_503(
    isolated: Processes,
) -> None:
    dsn = isolated.settings.database_url.get_secret_value()
    upstream = urlsplit(dsn)
    proxy = Proxy(upstream.hostname or "127.0.0.1", upstream.port or 5432)  # the gateway's only way to PostgreSQL
    await proxy.start()
    proxied = dsn.replace(upstream.netloc, f"{upstream.username}@127.0.0.1:{proxy.port}", 1)
    admin = await asyncpg.connect(dsn)
    token = isolated.settings.service_api_key.get_secret_value()
    try:
        # Started off the event loop: it waits for /readyz while the proxy forwards on this loop.
        await asyncio.to_thread(isolated.start, "gateway", env={"DATABASE_URL": proxied})
        async with httpx.AsyncClient(base_url=isolated.base_url, headers={"Authorization": f"Bearer {token}"}) as http:
            assert (await http.get("/v1/currencies")).status_code == 200

            await admin.execute("ALTER TABLE currencies RENAME COLUMN name TO name_drifted")
            r = await http.get("/v1/currencies")
            assert r.status_code == 500, r.text
            assert r.headers["content-type"] == "application/problem+json"
            doc = r.json()
            assert doc["code"] == "internal_error" and re.fullmatch(r"[0-9a-f]{32}", doc["trace_id"]), doc
            assert not re.search(r"column|currencies|SELECT|Undefined", r.text), r.text  # nothing of the error
            log = isolated.log("gateway")
            at = log.index(doc["trace_id"])
            assert "ERROR" in log[log.rindex("\n", 0, at) : at]
            assert "UndefinedColumnError" in log[at:] and "Traceback" in log[at:]

            await admin.execute("ALTER TABLE currencies RENAME COLUMN name_drifted TO name")
            assert (await http.get("/v1/currencies")).status_code == 200

            await proxy.close()  # every connection cut, nothing listening any more
            for _ in range(3):  # the cut pooled connection, then connections refused
                r = await http.get("/v1/currencies")
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"] == "1" and r.json()["code"] == "service_unavailable"
                assert "trace_id" not in r.json()
    finally:
        await proxy.close()
        await admin.close()
