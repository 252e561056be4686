"""One validated settings object for every process, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topology import Topology

DEV_API_KEY = "dev-service-key-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/ledger")
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    service_api_key: SecretStr = SecretStr(DEV_API_KEY)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    #: Prefix for every exchange and queue name (isolates tests and tenants on one broker).
    ledger_namespace: str = ""
    reply_timeout_seconds: float = Field(default=5.0, gt=0)
    worker_prefetch: int = Field(default=512, ge=1, le=5000)
    #: Commands applied per database transaction, at most.
    worker_batch_size: int = Field(default=128, ge=1, le=1000)
    #: Batches one worker applies at the same time.
    worker_lanes: int = Field(default=2, ge=1, le=32)
    #: How often the worker looks for expired holds and payment intents.
    sweep_seconds: float = Field(default=1.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    relay_batch_size: int = Field(default=200, ge=1, le=10000)
    relay_max_attempts: int = Field(default=8, ge=1)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_unsafe_secrets(self) -> Self:
        if self.environment == "production":
            key = self.service_api_key.get_secret_value()
            if key == DEV_API_KEY or len(key) < 24:
                raise ValueError("SERVICE_API_KEY must be set to a strong secret (>= 24 chars) in production")
            if "guest:guest@" in self.amqp_url.get_secret_value():
                raise ValueError("AMQP_URL must not use the guest account in production")
        return self

    @property
    def topology(self) -> Topology:
        return Topology(self.ledger_namespace)


@lru_cache
def get_settings() -> Settings:
    return Settings()
