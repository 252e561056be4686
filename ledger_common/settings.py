"""One validated settings object for every process, read from the environment."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_core import to_jsonable_python
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.nodes import node_urls
from contracts.signing import parse_keys
from contracts.topology import Retention, Topology

DEV_API_KEY = "dev-service-key-change-me"
DEV_PEPPER = "dev-api-key-pepper-change-me"
DEV_SIGNING_KEYS = "dev:dev-event-signing-key-change-me"
#: Shortest secret accepted in production (admin key, pepper, each event signing secret).
MIN_SECRET_CHARS = 32


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting must not echo the environment (and its secrets) back.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    environment: Literal["development", "test", "production"] = "development"
    #: One server, or a replicated formation's: ``postgresql://pg1:5432,pg2:5432/ledger?target_session_attrs=read-write``
    #: (every connection goes to the primary, and after a failover to the new one: docs/operations.md).
    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/ledger")
    #: One broker node, or a cluster's: ``amqp://user:pass@mq1:5672,mq2:5672,mq3:5672/vhost``
    #: (contracts/nodes.py); a process connects to one and moves to another when it is lost.
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    #: Bootstrap admin credential: a bearer token acting as principal ``service`` with every scope.
    service_api_key: SecretStr = SecretStr(DEV_API_KEY)
    #: Server-side secret mixed into every API key hash (HMAC-SHA-256); changing it invalidates all keys.
    api_key_pepper: SecretStr = SecretStr(DEV_PEPPER)
    #: ``kid:secret,kid2:secret2``: the relay signs events with the first, subscribers verify with any.
    event_signing_keys: SecretStr = SecretStr(DEV_SIGNING_KEYS)
    #: Declare exchanges and queues at startup; false when ``ledger broker-setup`` provisioned them and
    #: the service users may only use them (passive declares need no configure permission).
    amqp_declare: bool = True
    #: Broker users allowed to send commands on behalf of API keys and the ledger's tools (the gateway's).
    #: Any other publisher is ``amqp:<its user>``. Empty: ``ledger-gateway`` and the user of ``AMQP_URL``.
    amqp_gateway_users: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    #: Prefix for every exchange and queue name (isolates tests and tenants on one broker).
    ledger_namespace: str = ""
    reply_timeout_seconds: float = Field(default=5.0, gt=0)
    worker_prefetch: int = Field(default=512, ge=1, le=5000)
    #: Commands applied per database transaction, at most.
    worker_batch_size: int = Field(default=128, ge=1, le=1000)
    #: Batches one worker applies at the same time (a subject's commands always share a lane).
    worker_lanes: int = Field(default=2, ge=1, le=32)
    #: Command queue partitions (contracts/partitions.py); the same in every process of a deployment.
    #: Changing it on a running broker needs the old queue(s) drained first (docs/topology.md).
    command_partitions: int = Field(default=1, ge=1, le=256)
    #: The partitions this worker owns, e.g. ``0,2`` (empty: all); it is standby on the others.
    worker_partitions: str = Field(default="", pattern=r"^\s*(\d+\s*(,\s*\d+\s*)*)?$")
    #: Seconds after start before a worker registers as standby on partitions it does not own, so that
    #: workers started together each become active on their own; negative: never standby.
    worker_standby_seconds: float = 3.0
    #: How often the worker looks for expired holds and payment intents.
    sweep_seconds: float = Field(default=1.0, gt=0)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    relay_batch_size: int = Field(default=200, ge=1, le=10000)
    relay_max_attempts: int = Field(default=8, ge=1)
    #: Wait before a refused event's first retry; it doubles with each refusal (jittered by ±50%) ...
    relay_backoff_seconds: float = Field(default=1.0, gt=0)
    #: ... up to this.
    relay_backoff_max_seconds: float = Field(default=300.0, gt=0)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    #: Where the relay sends events: ``both``, the ``exchange`` only (subscribers' queues), or the event log
    #: ``stream`` only (docs/topology.md). Positions (GET /v1/events) are given whatever this says.
    event_delivery: Literal["both", "exchange", "stream"] = "both"
    #: The event log stream's retention when it is declared: ``x-max-age`` (``<n><Y|M|D|h|m|s>``) ...
    event_stream_max_age: str = Field(default="7D", pattern=r"^[1-9][0-9]{0,5}[YMDhms]$")
    #: ... ``x-max-length-bytes`` ...
    event_stream_max_bytes: int = Field(default=20_000_000_000, ge=1)
    #: ... and ``x-stream-max-segment-size-bytes`` (retention drops whole segments).
    event_stream_segment_bytes: int = Field(default=100_000_000, ge=4096)
    log_level: str = "INFO"
    #: ``text``: one readable line per record; ``json``: one JSON object per line (ledger_common/logs.py),
    #: what the container image sets. Tracing is configured by the standard ``OTEL_*`` variables instead.
    log_format: Literal["text", "json"] = "text"
    #: Allocations between young-generation collections in the gateway, worker and relay (Python: 700;
    #: 0 keeps Python's), after a ``gc.freeze()`` of everything loaded at start (ledger_common/runtime.py).
    gc_threshold: int = Field(default=20_000, ge=0)
    #: Statement uploads one gateway receives at once (each up to contracts.bounds.MAX_STATEMENT_BYTES, spooled
    #: to its TMPDIR): one more is answered 429 before a byte of it is read, so disk use stays bounded.
    gateway_max_uploads: int = Field(default=2, ge=1, le=64)
    #: Verify API keys from memory, kept current by PostgreSQL notifications (http_gateway/keycache.py);
    #: false: one database round trip per request.
    gateway_key_cache: bool = True
    #: Count and export Prometheus metrics (docs/observability.md); false: nothing is counted or served.
    metrics_enabled: bool = True
    #: Address of the process's own /metrics, /livez, /readyz port (keep it off public networks).
    metrics_host: str = "127.0.0.1"
    #: That port; unset: not served (no fixed default: one machine may run many workers); 0: any free one.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    #: How often the gauges that need a query (outbox backlog, dead letters) are recomputed, per process.
    metrics_refresh_seconds: float = Field(default=5.0, gt=0)
    #: ``/livez`` answers 503 once one unit of work (a worker batch, a relay claim) has run this long.
    liveness_stall_seconds: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _refuse_unsafe_secrets(self) -> Self:
        signing = parse_keys(self.event_signing_keys.get_secret_value())  # malformed: refused everywhere
        if self.environment != "production":
            return self
        _strong("SERVICE_API_KEY", self.service_api_key.get_secret_value(), DEV_API_KEY)
        _strong("API_KEY_PEPPER", self.api_key_pepper.get_secret_value(), DEV_PEPPER)
        dev_secrets = set(parse_keys(DEV_SIGNING_KEYS).values())
        for kid, secret in signing.items():
            if secret in dev_secrets or len(secret) < MIN_SECRET_CHARS:
                raise ValueError(f"EVENT_SIGNING_KEYS: key {kid!r} must be a strong secret in production")
        if "guest:guest@" in self.amqp_url.get_secret_value():
            raise ValueError("AMQP_URL must not use the guest account in production")
        return self

    @model_validator(mode="after")
    def _broker_nodes_readable(self) -> Self:
        node_urls(self.amqp_url.get_secret_value())  # raises for an empty host or no scheme, naming neither
        return self

    @model_validator(mode="after")
    def _partitions_exist(self) -> Self:
        self.owned_partitions  # noqa: B018  # raises for a partition COMMAND_PARTITIONS does not have
        return self

    @property
    def signing_keys(self) -> dict[str, bytes]:
        """Event signing keys in order; the first one signs."""
        return parse_keys(self.event_signing_keys.get_secret_value())

    @property
    def gateway_users(self) -> frozenset[str]:
        """The broker users whose commands may name the principal they act for."""
        given = {u.strip() for u in self.amqp_gateway_users.split(",") if u.strip()}
        return frozenset(given or {"ledger-gateway", self.amqp_user})

    @property
    def amqp_user(self) -> str:
        """The broker user of ``AMQP_URL``: what this process's messages carry as ``user_id``."""
        return unquote(urlsplit(node_urls(self.amqp_url.get_secret_value())[0]).username or "guest")

    @property
    def topology(self) -> Topology:
        retention = Retention(self.event_stream_max_age, self.event_stream_max_bytes, self.event_stream_segment_bytes)
        return Topology(
            self.ledger_namespace, declare=self.amqp_declare, partitions=self.command_partitions, retention=retention
        )

    @property
    def owned_partitions(self) -> tuple[int, ...]:
        """The partitions this worker consumes at once (``WORKER_PARTITIONS``; all if empty)."""
        given = sorted({int(p) for p in self.worker_partitions.split(",") if p.strip()})
        everything = tuple(range(self.command_partitions))
        if not given:
            return everything
        if given[-1] >= self.command_partitions:
            raise ValueError(f"WORKER_PARTITIONS names {given[-1]}; COMMAND_PARTITIONS is {self.command_partitions}")
        return tuple(given)


def env_name(field: str) -> str:
    """The environment variable that sets ``field`` (pydantic-settings reads it case-insensitively)."""
    return f"{Settings.model_config.get('env_prefix', '')}{field}".upper()


#: Every variable a setting is read from: a process environment built by :func:`settings_env` has all of them.
ENV_NAMES = frozenset(env_name(field) for field in Settings.model_fields)


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting of ``settings`` as the environment variable that sets it, secrets included.

    Derived from the model's fields, so a process started with this environment has exactly these
    settings (a new field cannot be forgotten); ``Settings()`` read from it equals ``settings``.
    """
    env: dict[str, str] = {}
    for field in type(settings).model_fields:
        value = getattr(settings, field)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float):
            text = str(value)
        else:  # complex fields are read as JSON
            text = json.dumps(to_jsonable_python(value))
        env[env_name(field)] = text
    return env


def _strong(name: str, value: str, default: str) -> None:
    if value == default or len(value) < MIN_SECRET_CHARS:
        raise ValueError(f"{name} must be set to a strong secret (>= {MIN_SECRET_CHARS} chars) in production")


@lru_cache
def get_settings() -> Settings:
    return Settings()
