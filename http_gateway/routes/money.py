"""Money movement: top-ups, bonuses, spends, withdrawals, transfers, multi-leg transactions, reversals.

A wallet-bound key may only debit its own wallet (spend, withdraw, transfer, the debit legs of a
transaction) and, with ``deposit``, credit only its own wallet; reversals are for service keys.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import Field

from contracts.base import Contract, Currency, Metadata, Party, Text
from contracts.catalogue import SPECS
from contracts.money import Bonus, Deposit, Leg, PostTransaction, ReverseTransaction, Spend, Transfer, Withdraw
from http_gateway.amounts import AmountIn
from http_gateway.auth import Authenticated, Principal, authorize_parties
from http_gateway.dispatch import Writer, WriterDep, command_route, contract

router = APIRouter(tags=["money"])


# The HTTP bodies are the contract payloads with amounts as a request may write them (minor units or
# an exact decimal string); the gateway converts before building the command.


class FlowBody(Deposit):
    """One customer party (``account_id`` or ``wallet``) against the flow's system account."""

    amount: AmountIn  # type: ignore[assignment]


class TransferBody(Transfer):
    """From the debit party to the credit party, in one currency."""

    amount: AmountIn  # type: ignore[assignment]


class LegBody(Leg):
    amount: AmountIn  # type: ignore[assignment]


class TransactionBody(Contract):
    """Legs in one currency that post together or not at all; debits must equal credits."""

    currency: Currency
    legs: Annotated[tuple[LegBody, ...], Field(min_length=2, max_length=64)]
    description: Text | None = None
    metadata: Metadata = {}


class ReverseBody(Contract):
    reason: Text | None = None


async def _flow(kind: str, cls: type[Contract], body: FlowBody, w: Writer, principal: Principal) -> JSONResponse:
    await authorize_parties(w.pool, principal, [body.party("customer")])
    return await w.send_priced(kind, cls, body, principal)


@command_route(router, "deposit")
async def deposit(body: FlowBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Top up: credit the party from the currency's treasury account (``deposit``)."""
    return await _flow("deposit", Deposit, body, w, principal)


@command_route(router, "bonus")
async def bonus(body: FlowBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Credit the party from the currency's promotions account (``bonus``)."""
    return await _flow("bonus", Bonus, body, w, principal)


@command_route(router, "spend")
async def spend(body: FlowBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Debit the party to the currency's revenue account (``spend``); refused if funds are short."""
    return await _flow("spend", Spend, body, w, principal)


@command_route(router, "withdraw")
async def withdraw(body: FlowBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Debit the party to the currency's treasury account (``withdraw``); refused if funds are short."""
    return await _flow("withdraw", Withdraw, body, w, principal)


@command_route(router, "transfer")
async def transfer(body: TransferBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Move money from one party to another in the same currency (``transfer``)."""
    await authorize_parties(
        w.pool, principal, [body.party("debit")], treasury_side=SPECS["transfer"].system_side("debit")
    )
    return await w.send_priced("transfer", Transfer, body, principal)


@command_route(router, "transaction.post")
async def post_transaction(body: TransactionBody, w: WriterDep, principal: Authenticated) -> JSONResponse:
    """Post N legs at once, e.g. merchant + fee + tax (``transaction.post``)."""
    debits: list[Party | None] = [leg.party("leg") for leg in body.legs if leg.side == "debit"]
    await authorize_parties(w.pool, principal, debits, treasury_side=SPECS["transaction.post"].system_side("leg"))
    legs = [
        contract(
            Leg,
            **leg.model_dump(exclude_none=True, exclude={"amount"}),
            amount=await w.currencies.minor(w.pool, body.currency, leg.amount, field=f"legs.{i}.amount"),
        )
        for i, leg in enumerate(body.legs)
    ]
    payload = contract(PostTransaction, **body.model_dump(exclude_none=True, exclude={"legs"}), legs=legs)
    return await w.send("transaction.post", payload, principal)


@command_route(router, "transaction.reverse")
async def reverse_transaction(
    transaction_id: Annotated[UUID, Path()],
    w: WriterDep,
    principal: Authenticated,
    body: ReverseBody | None = None,
) -> JSONResponse:
    """Post a new transaction that undoes this one, linked to it; the original stays (``transaction.reverse``)."""
    payload = contract(ReverseTransaction, transaction_id=transaction_id, reason=body.reason if body else None)
    return await w.send("transaction.reverse", payload, principal)
