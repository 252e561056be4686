"""When a call is tried again, and after how long: pure functions, shared by the sync and async clients.

Retried: a transport failure (the request may not have arrived; a write carries the same idempotency
key every time, so it is applied at most once), 429 (after ``Retry-After``), 502, 503 and 504. Never
retried: any other answer, which would be the same again. Delays are exponential with full jitter
(AWS's "Exponential Backoff and Jitter"), so many clients retrying at once spread out.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 502, 503, 504})
BASE_SECONDS = 0.25
CAP_SECONDS = 8.0
#: A ``Retry-After`` longer than this is not waited for: the error is raised instead.
MAX_RETRY_AFTER = 60.0


def retry_after(header: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), ``None`` if absent or bad."""
    if not header:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def delay(attempt: int, asked: float | None = None) -> float | None:
    """Seconds to wait before retry number ``attempt`` (0 for the first), or ``None``: do not retry.

    What the server asked for wins over the backoff, up to :data:`MAX_RETRY_AFTER`."""
    if asked is not None:
        return asked if asked <= MAX_RETRY_AFTER else None
    return random.uniform(0, min(CAP_SECONDS, BASE_SECONDS * 2**attempt))  # jitter, not a secret (S311 is off)
