"""The honest caller: a key bound to the honest wallet, running ordinary flows beside the attackers over both
transports, each of which must be applied; it keeps what they must have left in its USD account."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.catalogue import SPECS
from tests.e2e.attacker.world import ATTACKERS, BYSTANDER, HONEST, World
from tests.examples import request, route_of

Flow = Literal["deposit", "spend", "transfer", "hold", "capture", "release", "intent"]
FLOWS: tuple[Flow, ...] = ("deposit", "spend", "transfer", "hold", "capture", "release", "intent")
Transport = Literal["http", "amqp"]


@dataclass
class Honest:
    """What the honest flows did to the honest USD account: ``balance`` and ``held`` moved by them alone."""

    world: World
    balance: int = 0
    held: int = 0
    pending: list[tuple[str, int]] = field(default_factory=list)  # its own holds, still pending
    flows: int = 0

    @property
    def account(self) -> str:
        return self.world.wallets[HONEST].usd

    def available(self) -> int:
        """At least what the account has available: others may only have paid into it."""
        start_balance, start_held = self.world.snapshot[self.account]
        return start_balance + self.balance - start_held - self.held

    async def step(self, flow: Flow, amount: int, payee: int, transport: Transport) -> None:
        """One flow of ``amount`` (capped by what is available), paying the bystander or an attacker."""
        usd = {"currency": "USD"}
        to = self.world.wallets[(BYSTANDER, *ATTACKERS)[payee % 3]].usd
        amount = min(amount, self.available())
        if (flow in ("spend", "transfer", "hold") and amount < 1) or (
            flow in ("capture", "release") and not self.pending
        ):
            flow, amount = "deposit", max(amount, 1)
        mine = {"account_id": self.account, "amount": amount, **usd}
        hold, held = self.pending.pop(payee % len(self.pending)) if flow in ("capture", "release") else ("", 0)
        flows: dict[Flow, tuple[str, dict[str, Any]]] = {
            "deposit": ("deposit", mine),
            "spend": ("spend", mine),
            "transfer": (
                "transfer",
                {"debit_account_id": self.account, "credit_account_id": to, "amount": amount, **usd},
            ),
            "hold": ("hold.place", {**mine, "recipient_account_id": to}),
            "capture": ("hold.capture", {"hold_id": hold}),
            "release": ("hold.release", {"hold_id": hold}),
            "intent": ("intent.create", {"merchant_account_id": self.account, "amount": amount, **usd}),
        }
        kind, payload = flows[flow]
        result = await self._send(kind, payload, transport)
        assert result.get("status") == "applied", f"the honest {kind} {payload} was not applied: {result}"
        self.flows += 1
        if flow == "deposit":
            self.balance += amount
        elif flow in ("spend", "transfer"):
            self.balance -= amount
        elif flow == "hold":
            self.held += amount
            self.pending.append((str(result["hold_id"]), amount))
        elif flow == "capture":
            self.balance, self.held = self.balance - held, self.held - held
        elif flow == "release":
            self.held -= held

    async def _send(self, kind: str, payload: dict[str, Any], transport: Transport) -> dict[str, Any]:
        caller = self.world.honest
        if transport == "amqp":
            replied = await self.world.over_amqp(caller, kind, payload)
            assert replied is not None, f"the honest {kind} was not a command"
            return replied.model_dump(mode="json")
        method, path, body = request(route_of(SPECS[kind]), dict(payload))
        answer: dict[str, Any] = (await self.world.over_http(caller, method, path, body)).json()
        result: dict[str, Any] = answer.get("result", answer)
        return result
