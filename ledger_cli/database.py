"""Schema migration through alembic, from the packaged migrations directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ledger_common.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def migrate(settings: Settings, revision: str = "head") -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = settings.database_url.get_secret_value()
    command.upgrade(config, revision)
