"""Shared building blocks for contract models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MAX_AMOUNT = 2**63 - 1

#: Integer amount in the currency's minor units (cents for USD). Never a float.
Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT, strict=True)]
#: ISO-4217-style code; custom asset codes (GOLD, POINTS) use the same shape.
Currency = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{2,11}$")]
#: Client-chosen command id; doubles as the idempotency key.
CommandId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


class Contract(BaseModel):
    """Base for every message model: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
