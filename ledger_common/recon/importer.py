"""Statement import: a CSV or JSON-lines file streamed into ``recon_lines`` in bounded memory.

The file is read twice from disk, never held: once for its SHA-256 (a file imported before is found by it
and nothing changes), once to parse it, :data:`BATCH` lines at a time, each batch sent with ``COPY``. The
whole import is one transaction: a bad line leaves nothing behind and names its line number.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import asyncpg

from contracts.errors import NotFound, Rejected
from ledger_common.recon.sources import SourceConfig

#: Lines per ``COPY``: large enough to amortise the round trip, small enough to stay a few MB.
BATCH = 5_000
_COLUMNS = (
    "file_id",
    "source_id",
    "line_no",
    "account_id",
    "currency",
    "amount",
    "value_date",
    "reference",
    "description",
    "closing_balance",
)


class StatementError(Rejected, ValueError):
    """A line the source's mapping cannot read: its number and why."""

    code = "invalid_statement"


class SourceNotFound(NotFound):
    """No statement source has this name."""

    code = "source_not_found"


@dataclass(frozen=True, slots=True)
class Source:
    id: uuid.UUID
    name: str
    config: SourceConfig


@dataclass(frozen=True, slots=True)
class Imported:
    file_id: uuid.UUID
    lines: int
    #: False: the same bytes were imported before; nothing changed.
    created: bool


async def define_source(conn: asyncpg.Connection, name: str, config: SourceConfig) -> uuid.UUID:
    """Create or replace the source ``name`` (its mapping and rules apply to later imports and runs)."""
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO recon_sources (id, name, account_id, currency, config) VALUES ($1, $2, $3, $4, $5::jsonb)"
        " ON CONFLICT (name) DO UPDATE SET account_id = excluded.account_id, currency = excluded.currency,"
        " config = excluded.config, updated_at = now() RETURNING id",
        uuid.uuid4(),
        name,
        config.account_id,
        config.currency,
        config.model_dump(mode="json"),
    )


async def get_source(conn: asyncpg.Connection, name: str) -> Source:
    row = await conn.fetchrow("SELECT id, name, config FROM recon_sources WHERE name = $1", name)
    if row is None:
        raise SourceNotFound(f"no statement source {name!r}")
    return Source(row["id"], row["name"], SourceConfig.model_validate(row["config"]))


def file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.digest()


async def import_statement(
    conn: asyncpg.Connection, source_name: str, path: Path, name: str = "", sha256: bytes | None = None
) -> Imported:
    """Import ``path`` into ``source_name``: once per distinct content. ``sha256``: the file's digest when
    the caller has it already (an upload hashed as it arrived), saving a read of the file."""
    source = await get_source(conn, source_name)
    sha = sha256 or await asyncio.to_thread(file_digest, path)
    found = await conn.fetchrow(
        "SELECT id, line_count FROM recon_files WHERE source_id = $1 AND sha256 = $2", source.id, sha
    )
    if found is not None:
        return Imported(found["id"], found["line_count"], created=False)
    exponents = {r["code"]: r["exponent"] for r in await conn.fetch("SELECT code, exponent FROM currencies")}
    file_id = uuid.uuid4()
    async with conn.transaction():
        inserted = await conn.fetchval(
            "INSERT INTO recon_files (id, source_id, sha256, name) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (source_id, sha256) DO NOTHING RETURNING id",
            file_id,
            source.id,
            sha,
            name or path.name,
        )
        if inserted is None:  # a concurrent import of the same bytes committed first
            row = await conn.fetchrow(
                "SELECT id, line_count FROM recon_files WHERE source_id = $1 AND sha256 = $2", source.id, sha
            )
            return Imported(row["id"], row["line_count"], created=False)
        count = 0
        with path.open("rb") as raw:
            records = _records(source.config, io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))

            def parse() -> list[tuple[Any, ...]]:
                rows = itertools.islice(records, BATCH)
                return [(file_id, source.id, n, *_line(source.config, exponents, n, fields)) for n, fields in rows]

            # Each batch is read and parsed on a thread: a few hundred milliseconds each, which would stall
            # every other request of a gateway importing an upload (measured: /healthz p99 242 ms before).
            while batch := await asyncio.to_thread(parse):
                count += await _copy(conn, batch)
        await conn.execute("UPDATE recon_files SET line_count = $2 WHERE id = $1", file_id, count)
    return Imported(file_id, count, created=True)


async def _copy(conn: asyncpg.Connection, batch: list[tuple[Any, ...]]) -> int:
    if not batch:
        return 0
    await conn.copy_records_to_table("recon_lines", records=batch, columns=_COLUMNS)
    n = len(batch)
    batch.clear()
    return n


def _records(config: SourceConfig, text: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, fields) of each data line; a blank line is skipped."""
    if config.format == "csv":
        reader = csv.DictReader(text, delimiter=config.delimiter)
        for row in reader:
            if any(v for v in row.values() if v):
                yield reader.line_num, row
        return
    for number, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise StatementError(f"line {number}: not JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise StatementError(f"line {number}: not a JSON object")
        yield number, value


def _line(config: SourceConfig, exponents: dict[str, int], number: int, fields: dict[str, Any]) -> tuple[Any, ...]:
    cols = config.columns

    def get(column: str | None, required: bool = False) -> str:
        value = fields.get(column) if column else None
        if value is None or value == "":
            if required:
                raise StatementError(f"line {number}: {column!r} is missing")
            return ""
        return str(value).strip()

    currency = get(cols.currency) or config.currency
    if currency not in exponents:
        raise StatementError(f"line {number}: currency {currency!r} is not registered")
    exponent = exponents[currency]
    amount = minor_units(get(cols.amount, True), exponent, number)
    balance = get(cols.closing_balance)
    return (
        config.account_id,
        currency,
        -amount if cols.negate else amount,
        _date(get(cols.value_date, True), cols.date_format, number),
        get(cols.reference)[:200],
        get(cols.description)[:500],
        minor_units(balance, exponent, number) if balance else None,
    )


def minor_units(text: str, exponent: int, number: int = 0) -> int:
    """``"12.50"`` with exponent 2 is 1250; more decimals than the currency has is an error, never rounded."""
    try:
        value = Decimal(text.replace(" ", ""))
    except InvalidOperation:
        raise StatementError(f"line {number}: {text!r} is not an amount") from None
    scaled = value.scaleb(exponent)
    if not value.is_finite() or scaled != scaled.to_integral_value():
        raise StatementError(f"line {number}: {text!r} has more than {exponent} decimals")
    if abs(scaled) >= 10**18:
        raise StatementError(f"line {number}: {text!r} is out of range")
    return int(scaled)


def _date(text: str, fmt: str, number: int) -> date:
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise StatementError(f"line {number}: {text!r} is not a date like {fmt}") from None
