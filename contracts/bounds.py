"""Every bound on what a caller sends, declared once: the contract types, the gateway's edge, the AMQP
intake and the table in docs/security.md ("Bounds") all read these numbers.

A bound exists so that nothing a caller chooses (a size, a depth, a count, a number) reaches memory or
the database unchecked: a body is refused before it is read, a number before a sum of it could leave
what PostgreSQL stores (``numeric(38, 0)``). tests/e2e/test_bounds.py tries each at its limit and one
past it; a bound declared here without a test there fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Largest amount or balance in minor units: 38 decimal digits, what ``numeric(38, 0)`` holds (about an
#: unsigned 128-bit integer), so assets with up to 18 decimal places still hold more than 10^20 whole units.
MAX_AMOUNT = 10**38 - 1
#: Largest request body over HTTP and command body over AMQP. The largest valid command, a transaction
#: of 64 legs with 32 metadata values of 512 characters each written as ``\uXXXX`` escapes, is about
#: 120 KiB; the bound keeps a hostile caller from making a process read and parse megabytes.
MAX_BODY_BYTES = 256 * 1024
#: Largest statement file uploaded over HTTP (``POST /v1/recon/sources/{name}/files``), the one route whose
#: body is not a command: it is streamed to a temporary file as it arrives, never held, and imported from
#: there. A bank's or PSP's file of 1,000,000 lines is 60 to 200 MB.
MAX_STATEMENT_BYTES = 512 * 1024 * 1024
#: Largest request head over HTTP: the request target plus every header line (``name: value`` and its line
#: end). A bearer token, a traceparent and 16 metadata filters of 512 characters fit many times over.
MAX_HEAD_BYTES = 32 * 1024
#: Deepest JSON nesting of a body (a multi-leg transaction command nests four levels).
MAX_JSON_DEPTH = 32
MAX_LEGS = 64
MAX_METADATA_KEYS = 32
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512
#: Descriptions and reasons.
MAX_TEXT_CHARS = 500
MAX_OWNER_ID_CHARS = 128
MAX_CURRENCY_NAME_CHARS = 64
MAX_EXTERNAL_REF_CHARS = 128
#: An Idempotency-Key (the command id).
MAX_COMMAND_ID_CHARS = 128
MAX_WALLET_CURRENCIES = 16
MAX_EXPIRY_SECONDS = 90 * 86400
MAX_DAILY_DEBIT_COUNT = 10**9
#: Query strings of the list routes.
MAX_PAGE_ITEMS = 500
MAX_CURSOR_CHARS = 4096
MAX_METADATA_FILTERS = 16


@dataclass(frozen=True, slots=True)
class Entry:
    """One bound as docs/security.md lists it: what it bounds, its limit, and the answer one past it."""

    name: str
    limit: str
    applies_to: str
    past_it: str


_VALIDATION = "422 `validation_error` naming the field; over AMQP dead-lettered with the reason"

BOUNDS: tuple[Entry, ...] = (
    Entry(
        "body",
        f"{MAX_BODY_BYTES} bytes",
        "an HTTP request body; an AMQP command body",
        "413 `payload_too_large`, answered from `Content-Length` before a byte of the body is read (a chunked"
        " body: once the bound is passed), and the connection closed past 16 MiB; over AMQP dead-lettered"
        " `body too large`, and the broker refuses messages over its `max_message_size` (`ledger broker-setup`)",
    ),
    Entry(
        "statement",
        f"{MAX_STATEMENT_BYTES} bytes (512 MiB)",
        "a statement file uploaded over HTTP (`POST /v1/recon/sources/{name}/files`), instead of `body`; its key"
        " and scope are checked before a byte of it is read, and it is streamed to a temporary file",
        "413 `payload_too_large` from `Content-Length` before a byte is read (a chunked body: once the bound is"
        " passed), nothing imported, the connection closed past 16 MiB",
    ),
    Entry(
        "head",
        f"{MAX_HEAD_BYTES} bytes",
        "an HTTP request's target and header lines together",
        "431 `headers_too_large`, counted as the bytes arrive, and the connection closed",
    ),
    Entry(
        "json_depth",
        f"{MAX_JSON_DEPTH} levels",
        "a JSON body (HTTP and AMQP)",
        "422 `validation_error`; over AMQP dead-lettered `invalid JSON`",
    ),
    Entry("amount", f"1 to {MAX_AMOUNT} (10^38 - 1) minor units", "every amount", "422 `invalid_amount`"),
    Entry(
        "transaction_total",
        f"{MAX_AMOUNT}",
        "the sum of a transaction's credits (legs of a multi-leg transaction)",
        "recorded refusal `amount_out_of_range` (422), never a dead letter",
    ),
    Entry(
        "balance",
        f"-{MAX_AMOUNT} to {MAX_AMOUNT}",
        "an account's balance after every posting (each one recorded), its held funds, a hold's total after"
        " increments, what an intent was paid and refunded",
        "recorded refusal `balance_overflow` (balances, held) or `amount_out_of_range` (422)",
    ),
    Entry("legs", f"2 to {MAX_LEGS}", "a multi-leg transaction", _VALIDATION),
    Entry(
        "metadata",
        f"{MAX_METADATA_KEYS} keys of 1 to {MAX_METADATA_KEY_CHARS} of `A-Z a-z 0-9 _ . : -`, values of at most"
        f" {MAX_METADATA_VALUE_CHARS} characters",
        "wallets, transactions, holds, intents",
        _VALIDATION + "; a merge leaving a wallet with more keys: recorded refusal `metadata_limit`",
    ),
    Entry(
        "text",
        f"1 to {MAX_TEXT_CHARS} characters; a currency's name 1 to {MAX_CURRENCY_NAME_CHARS}",
        "descriptions, reasons, currency names",
        _VALIDATION,
    ),
    Entry("owner_id", f"1 to {MAX_OWNER_ID_CHARS} characters", "a wallet's owner", _VALIDATION),
    Entry(
        "external_ref",
        f"1 to {MAX_EXTERNAL_REF_CHARS} of `A-Z a-z 0-9 . _ : -`",
        "a wallet's external reference",
        _VALIDATION,
    ),
    Entry(
        "command_id",
        f"1 to {MAX_COMMAND_ID_CHARS} of `A-Z a-z 0-9 . _ : -`",
        "an `Idempotency-Key`; an AMQP `command_id`",
        "400 `invalid_idempotency_key`; over AMQP dead-lettered",
    ),
    Entry("currencies", f"at most {MAX_WALLET_CURRENCIES}", "the currencies a wallet is created with", _VALIDATION),
    Entry(
        "expiry",
        f"1 to {MAX_EXPIRY_SECONDS} seconds (90 days)",
        "`expires_in_seconds` of holds and intents",
        _VALIDATION,
    ),
    Entry(
        "page",
        f"`limit` 1 to {MAX_PAGE_ITEMS}; a cursor of at most {MAX_CURSOR_CHARS} characters; at most"
        f" {MAX_METADATA_FILTERS} `metadata.<key>` filters",
        "the query of a list route",
        "422 `validation_error`; a cursor this API did not issue: 400 `invalid_cursor`",
    ),
)

BEGIN = "<!-- bounds:begin (generated by `make schemas` from contracts/bounds.py) -->"
END = "<!-- bounds:end -->"


def render() -> str:
    """The table between :data:`BEGIN` and :data:`END`."""
    rows = [f"| `{b.name}` | {b.limit} | {b.applies_to} | {b.past_it} |" for b in BOUNDS]
    return "\n".join((BEGIN, "| bound | limit | applies to | one past it |", "| --- | --- | --- | --- |", *rows, END))


def replace_in(document: str) -> str:
    """``document`` with its bounds table rendered anew."""
    start, end = document.index(BEGIN), document.index(END) + len(END)
    return document[:start] + render() + document[end:]
