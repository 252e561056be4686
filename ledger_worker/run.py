"""Run one command against the book: its rule's outcome, or its refusal, and the result to reply with."""

from __future__ import annotations

from contracts.amounts import to_decimal_string
from contracts.commands import Command
from contracts.events import CommandRefused
from contracts.results import AccountBalance, CommandResult
from ledger_worker import authorize
from ledger_worker.book import Book
from ledger_worker.model import Account, Caller, Refused
from ledger_worker.outcome import Outcome, settle
from ledger_worker.rules import RULES
from ledger_worker.rules.registry import outcome

#: What the applier keeps of each command it ran.
Ran = tuple[Command, CommandResult, Outcome]


def run(book: Book, cmd: Command, caller: Caller) -> Ran:
    """Check ``caller`` may send ``cmd``, then apply its rule; a refusal undoes its changes and is recorded
    as the command's outcome."""
    try:
        with book.attempt():
            authorize.check(book, cmd, caller)
            done = RULES[cmd.type](book, cmd, cmd.payload)
    except Refused as refused:
        done = outcome(cmd)
        why = CommandRefused(command_type=cmd.type, refusal=refused.refusal, detail=refused.detail)
        done.emit("command.refused", why)
        result = CommandResult(
            command_id=cmd.command_id,
            command_type=cmd.type,
            status="refused",
            refusal=refused.refusal,
            detail=refused.detail,
        )
        return cmd, result, done
    settle(book, done)
    # The caller sees (and the recorded result keeps) only what it may read: a bound caller its own wallet.
    shown = [book.accounts[a] for a in done.touched]
    balances = tuple(balance(book, a) for a in shown if a.kind == "user" and caller.wallet_id in (None, a.wallet_id))
    result = CommandResult.model_construct(
        command_id=cmd.command_id,
        command_type=cmd.type,
        status="applied",
        refusal=None,
        detail=None,
        transaction_id=done.transaction_id,
        account_id=done.account_id,
        wallet_id=done.wallet_id,
        hold_id=done.hold_id,
        intent_id=done.intent_id,
        break_id=done.break_id,
        reconciliation=done.reconciliation,
        balances=balances,
        replayed=False,
    )
    return cmd, result, done


def balance(book: Book, account: Account) -> AccountBalance:
    exponent = book.currencies[account.currency].exponent
    return AccountBalance.model_construct(
        account_id=account.id,
        wallet_id=account.wallet_id,
        currency=account.currency,
        balance=account.balance,
        held=account.held,
        available=account.available,
        balance_decimal=to_decimal_string(account.balance, exponent),
        held_decimal=to_decimal_string(account.held, exponent),
        available_decimal=to_decimal_string(account.available, exponent),
    )
