"""Reconciliation on real processes: a bank CSV and a PSP settlement file (tests/e2e/data/recon, dates shifted
to today), imported over HTTP (again: nothing changes), run as commands, every kind of break opened and then
explained or resolved (adjusting transactions posted through the worker), events, and the scope enforced
over HTTP and AMQP."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection

from contracts.keys import Scope
from contracts.recon import Columns, MatchRules, SourceConfig
from ledger_cli.processes import Processes
from ledger_common.db import create_pool
from ledger_common.settings import Settings
from ledger_sdk import AsyncClient
from tests.e2e.access import bearer, make_key
from tests.e2e.api import Wallet, get, key, new_wallet, write
from tests.e2e.conftest import subscribe
from tests.e2e.trust import Publisher, grant, start
from tests.ledger import funded_wallet

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "recon"
FILE_DAY = date(2026, 11, 2)


def _shifted(text: str, fields: tuple[str, ...]) -> str:
    """The file with every date moved so that ``FILE_DAY`` is today (the ledger's postings are made today)."""
    shift = datetime.now(UTC).date() - FILE_DAY

    def move(value: str) -> str:
        return (date.fromisoformat(value) + shift).isoformat()

    if text.lstrip().startswith("{"):
        lines = [json.loads(x) for x in text.splitlines() if x.strip()]
        return "".join(json.dumps({k: move(v) if k in fields else v for k, v in x.items()}) + "\n" for x in lines)
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: move(v) if k in fields else v for k, v in r.items()} for r in rows)
    return out.getvalue()


async def _paid_in(client: httpx.AsyncClient, wallet: Wallet, amount: int, ref: str) -> None:
    body = {"account_id": wallet.usd, "amount": amount, "currency": "USD", "metadata": {"reference": ref}}
    await write(client, "POST", "/v1/deposits", body)


async def _run(client: httpx.AsyncClient, source: str) -> dict[str, Any]:
    result = await write(client, "POST", f"/v1/recon/sources/{source}/runs", {})
    summary: dict[str, Any] = result["reconciliation"]
    return summary


async def test_statements_reconcile_and_every_break_is_resolved(
    system: Processes, client: httpx.AsyncClient, amqp: AbstractRobustConnection, settings: Settings
) -> None:
    sub = await subscribe(amqp, settings)
    bank, psp = await new_wallet(client), await new_wallet(client)
    fees, suspense = await new_wallet(client), await new_wallet(client, funded=100_000)
    customers = [await new_wallet(client) for _ in range(3)]
    await _paid_in(client, bank, 125_000, "INV-1001")
    await _paid_in(client, bank, 9_950, "INV-1003")  # the bank says 99.00
    await _paid_in(client, bank, 30_000, "INV-1002")  # value-dated a day later by the bank
    await _paid_in(client, bank, 4_000, "INV-1004")  # not on the statement
    for customer, amount in zip(customers, (20_000, 15_000, 10_000), strict=True):  # one bank line pays all three
        move = {"debit_account_id": bank.usd, "credit_account_id": customer.usd, "amount": amount, "currency": "USD"}
        await write(client, "POST", "/v1/transfers", {**move, "metadata": {"reference": "PAYOUT-77"}})
    await _paid_in(client, psp, 9_710, "ST-2026-11-02-01")  # 100.00 less 2.90 in fees
    await _paid_in(client, psp, 4_388, "ST-2026-11-02-02")  # 45.50 less 1.62

    names = {"bank": f"bank-{uuid.uuid4().hex[:8]}", "psp": f"psp-{uuid.uuid4().hex[:8]}"}
    bank_config = SourceConfig(
        account_id=uuid.UUID(bank.usd),
        currency="USD",
        columns=Columns(
            amount="Amount",
            value_date="Value Date",
            reference="Reference",
            description="Narrative",
            currency="Currency",
            closing_balance="Balance",
        ),
        rules=MatchRules(window_days=0),
    )
    psp_config = SourceConfig(
        account_id=uuid.UUID(psp.usd),
        currency="USD",
        format="jsonl",
        columns=Columns(amount="amount", value_date="settled_on", reference="settlement_id", currency="currency"),
        rules=MatchRules(window_days=1),
    )
    token = system.settings.service_api_key.get_secret_value()
    bank_csv = _shifted((DATA / "bank.csv").read_text(), ("Booking Date", "Value Date")).encode()
    async with AsyncClient(system.base_url, api_key=token) as sdk:
        await sdk.recon.define_source(names["bank"], bank_config)
        await sdk.recon.define_source(names["psp"], psp_config)
        first = await sdk.recon.import_file(names["bank"], bank_csv, name="bank.csv")
        again = await sdk.recon.import_file(names["bank"], bank_csv, name="bank-again.csv")
        psp_lines = _shifted((DATA / "psp.jsonl").read_text(), ("settled_on",)).encode()
        settled = await sdk.recon.import_file(names["psp"], psp_lines, name="psp.jsonl")
        dry = await sdk.recon.run(names["bank"], dry_run=True)
    assert (first.lines, first.created, again.created, again.file_id) == (8, True, False, first.file_id)
    # A line the mapping cannot read: a problem naming it, and nothing of the file is kept.
    bad = bank_csv.replace(b"1250.00,USD,INV-1001", b"1250.001,USD,INV-1001", 1)
    r = await client.post(f"/v1/recon/sources/{names['bank']}/files", content=bad)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_statement") and "line 2" in r.json()["detail"], r.text
    assert settled.lines == 4 and dry.reconciliation is not None and dry.reconciliation.opened == 5
    assert (await get(client, "/v1/recon/breaks", source=names["bank"]))["breaks"] == []  # a dry run writes none

    ran = await _run(client, names["bank"])
    assert ran["matches"] == {"one_to_many": 1, "one_to_one": 1, "reversal": 1}, ran
    assert ran["lines"] == 8  # the file imported twice and the refused one added none
    reasons = ["amount_differs", "date_outside_window", "duplicate", "ledger_transaction_unmatched"]
    assert ran["breaks"] == dict.fromkeys([*reasons, "statement_line_unmatched"], 1)
    assert (await _run(client, names["psp"]))["matches"] == {"many_to_one": 2}
    assert (await _run(client, names["bank"]))["opened"] == 0  # found again: still open, nothing new

    first_page = await get(client, "/v1/recon/breaks", source=names["bank"], limit=3)
    rest = await get(client, "/v1/recon/breaks", source=names["bank"], limit=3, cursor=first_page["next_cursor"])
    assert len({b["break_id"] for b in first_page["breaks"] + rest["breaks"]}) == 5 and rest["next_cursor"] is None
    page = await get(client, "/v1/recon/breaks", source=names["bank"], state="open")
    breaks = {b["reason"]: b for b in page["breaks"]}
    late = breaks["date_outside_window"]
    assert late["line"]["reference"] == late["posting"]["metadata"]["reference"] == "INV-1002", late
    assert breaks["amount_differs"]["expected"] == 9_950 and breaks["amount_differs"]["amount"] == 9_900

    path = "/v1/recon/breaks/{}/{}"
    await write(client, "POST", path.format(late["break_id"], "explain"), {"explanation": "value-dated a day late"})
    await write(client, "POST", path.format(late["break_id"], "resolve"), {"description": "timing only"})
    fee = await write(
        client,
        "POST",
        path.format(breaks["statement_line_unmatched"]["break_id"], "resolve"),
        {"counter_wallet": fees.handle},
    )
    for reason in ("amount_differs", "ledger_transaction_unmatched"):
        await write(
            client, "POST", path.format(breaks[reason]["break_id"], "resolve"), {"counter_wallet": suspense.handle}
        )
    await write(client, "POST", path.format(breaks["duplicate"]["break_id"], "resolve"), {})
    r = await client.post(
        path.format(breaks["duplicate"]["break_id"], "resolve"), json={}, headers={"Idempotency-Key": key()}
    )
    assert (r.status_code, r.json()["code"]) == (422, "break_not_open"), r.text

    fee_tx = await get(client, f"/v1/transactions/{fee['transaction_id']}")
    assert fee_tx["metadata"]["recon_break"] == breaks["statement_line_unmatched"]["break_id"]
    # The ledger now says what the bank says: -12.00 fee, -0.50 on INV-1003, -40.00 for INV-1004.
    balance = (await get(client, f"/v1/accounts/{bank.usd}"))["balance"]
    assert balance == 125_000 + 9_950 + 30_000 + 4_000 - 45_000 - 1_200 - 50 - 4_000
    last = await _run(client, names["bank"])
    assert (last["breaks"], last["lines"], last["postings"]) == ({}, 0, 0), last
    assert (await get(client, "/v1/recon/breaks", source=names["bank"], state="open"))["breaks"] == []
    closed = (await get(client, "/v1/recon/breaks", source=names["bank"]))["breaks"]
    assert sorted(b["resolution"] for b in closed) == ["adjusted", "adjusted", "adjusted", "dismissed", "dismissed"]
    # The statement's closing balance against the ledger's at the day's end: the duplicate credit (+1,250.00)
    # is money the bank really shows; the late credit (+300.00) is on the ledger a day before the bank.
    (today, tomorrow) = (await get(client, f"/v1/recon/sources/{names['bank']}/balances"))["days"]
    assert (today["statement_balance"], today["drift"]) == (213_700, 125_000 - 30_000), today
    assert (tomorrow["statement_balance"], tomorrow["drift"]) == (243_700, 125_000), tomorrow
    runs = (await get(client, "/v1/recon/runs", source=names["bank"]))["runs"]
    assert len(runs) == 3  # the dry run is recorded as a command only

    await sub.wait_for(lambda evs: sum(e.type == "break.resolved" for e in evs) >= 5)
    kinds = {e.type for e in sub.events}
    assert {"reconciliation.completed", "break.opened", "break.explained", "break.resolved"} <= kinds


async def test_the_reconcile_scope_is_required_over_http(system: Processes, client: httpx.AsyncClient) -> None:
    attacker = await make_key(client, [Scope.READ, Scope.TRANSFER, Scope.TREASURY, Scope.ADMIN], name="no reconcile")
    headers = {**bearer(attacker["secret"]), "Idempotency-Key": key()}
    for method, path in (
        ("POST", "/v1/recon/sources/any-source/runs"),
        ("POST", f"/v1/recon/breaks/{uuid.uuid4()}/resolve"),
        ("GET", "/v1/recon/breaks"),
        ("PUT", "/v1/recon/sources/any-source"),
    ):
        r = await client.request(method, path, json={}, headers=headers)
        assert (r.status_code, r.json()["required_scope"]) == (403, "reconcile"), (path, r.text)


@pytest.fixture
async def publisher(
    isolated: Processes, amqp: AbstractRobustConnection, isolated_settings: Settings
) -> AsyncIterator[Publisher]:
    start(isolated, "worker", env={"AMQP_GATEWAY_USERS": "ledger-gateway"})  # guest speaks for itself only
    p = await Publisher(amqp, isolated_settings).start()
    yield p
    await p.close()


async def test_the_reconcile_scope_is_required_over_amqp(publisher: Publisher, isolated_settings: Settings) -> None:
    pool: asyncpg.Pool = await create_pool(isolated_settings.database_url.get_secret_value(), size=1)
    try:
        _, account = await funded_wallet(pool, 0)
        config = SourceConfig(account_id=account, currency="USD", columns=Columns(amount="a", value_date="d"))
        await pool.execute(
            "INSERT INTO recon_sources (id, name, account_id, currency, config)"
            " VALUES ($1, 'amqp-bank', $2, 'USD', $3)",
            uuid.uuid4(),
            account,
            config.model_dump(mode="json"),
        )
    finally:
        await pool.close()
    await grant(isolated_settings, [Scope.READ, Scope.TRANSFER, Scope.TREASURY, Scope.ADMIN])
    refused = await publisher.send("recon.run", {"source": "amqp-bank"}, command_id=f"attack-{uuid.uuid4().hex}")
    assert (refused.status, refused.refusal) == ("refused", "forbidden_scope"), refused
    await grant(isolated_settings, [Scope.RECONCILE])
    allowed = await publisher.send("recon.run", {"source": "amqp-bank"}, command_id=f"ok-{uuid.uuid4().hex}")
    assert allowed.status == "applied" and allowed.reconciliation is not None, allowed


async def test_the_cli_imports_runs_lists_and_resolves(
    system: Processes, client: httpx.AsyncClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    from ledger_cli import recon as cli

    bank, suspense = await new_wallet(client), await new_wallet(client, funded=1_000)
    await _paid_in(client, bank, 700, "CLI-1")
    name = f"cli-{uuid.uuid4().hex[:8]}"
    config = SourceConfig(
        account_id=uuid.UUID(bank.usd),
        currency="USD",
        columns=Columns(amount="amount", value_date="date", reference="ref", closing_balance="balance"),
    )
    (tmp_path / "source.json").write_text(config.model_dump_json())
    day = datetime.now(UTC).date().isoformat()
    (tmp_path / "st.csv").write_text(f"date,amount,ref,balance\n{day},7.00,CLI-1,7.00\n{day},1.00,CLI-2,8.00\n")
    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers(dest="command"))

    def ledger(*argv: str) -> str:
        assert cli.recon(system.settings, parser.parse_args(["recon", *argv])) in (0, 1)
        return capsys.readouterr().out

    # The CLI's own asyncio.run needs a thread without a running loop.
    async def run(*argv: str) -> str:
        return await asyncio.to_thread(ledger, *argv)

    await run("source", name, str(tmp_path / "source.json"))
    assert "2 lines imported" in await run("import", name, str(tmp_path / "st.csv"))
    assert "already imported" in await run("import", name, str(tmp_path / "st.csv"))
    assert '"one_to_one": 1' in await run("run", name)
    listed = await run("breaks", "--source", name, "--json")
    (only,) = json.loads(listed)
    assert only["reason"] == "statement_line_unmatched" and only["line"]["reference"] == "CLI-2"
    assert "drift          100  DRIFT" in await run("balances", name)
    assert '"status": "applied"' in await run("resolve", str(only["break_id"]), "--counter-wallet", suspense.handle)
