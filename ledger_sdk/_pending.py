"""What a 202 says: the command's id and where to poll for its outcome."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PendingInfo:
    command_id: str
    status_url: str
