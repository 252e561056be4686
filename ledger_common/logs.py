"""Logging setup: one line per record, never the connection secrets."""

from __future__ import annotations

import logging
import re

_SECRET_IN_URL = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


class _RedactUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if "://" in msg:
            record.msg, record.args = _SECRET_IN_URL.sub(r"\1***@", msg), None
        return True


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_RedactUrls())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
