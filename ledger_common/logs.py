"""Logging setup: one line per record, with secrets redacted from everything that is written.

Redaction runs on the fully formatted record (message, arguments and traceback), so a secret cannot
slip through an exception message or a library's log line. Covered: passwords in URLs, bearer
tokens, API keys (``lk_live_…``/``lk_test_…``: the public prefix is kept, the secret dropped), and
``password=``/``secret=``/``token=``/``pepper=`` pairs.
"""

from __future__ import annotations

import logging
import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(://[^:/@\s]+:)[^@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)(\bbearer\s+)[^\s,;'\"]+"), r"\1***"),
    (re.compile(r"\b(lk_(?:live|test)_[0-9a-f]{12})_[A-Za-z0-9_-]+"), r"\1_***"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|pepper|api_key)(\s*[=:]\s*)[^\s,;&'\"]+"), r"\1\2***"),
)


def redact(text: str) -> str:
    """``text`` with every secret pattern above replaced by ``***``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def setup_logging(level: str) -> None:
    """Configure the root logger for every process (uvicorn's loggers propagate to it)."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
