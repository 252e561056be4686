"""One way from settings to a process environment: every setting, secrets included, nothing inherited over it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from ledger_cli.processes import Processes, run_group
from ledger_common.settings import ENV_NAMES, Settings, settings_env
from outbox_relay.relay import retry_delay


def _revealed(s: Settings) -> dict[str, object]:
    return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in dict(s).items()}


def _unusual() -> Settings:
    """Every field away from its default, so a variable left out shows."""
    return Settings(
        environment="test",
        database_url="postgresql://u:p@db:5433/x",
        amqp_url="amqp://a:b@mq:5673/v",
        service_api_key="svc-" + "k" * 40,
        api_key_pepper="pep-" + "p" * 40,
        event_signing_keys="k2:" + "s" * 40 + ",k1:" + "t" * 40,
        amqp_declare=False,
        amqp_gateway_users="gw-a,gw-b",
        http_host="localhost",
        http_port=9999,
        ledger_namespace="ns.",
        reply_timeout_seconds=1.5,
        worker_prefetch=7,
        worker_batch_size=3,
        worker_lanes=4,
        command_partitions=4,
        worker_partitions="1,3",
        worker_standby_seconds=-1.0,
        sweep_seconds=0.25,
        db_pool_size=2,
        relay_batch_size=9,
        relay_max_attempts=3,
        relay_backoff_seconds=0.125,
        relay_backoff_max_seconds=2.5,
        relay_poll_seconds=0.75,
        event_delivery="stream",
        event_stream_max_age="30D",
        event_stream_max_bytes=12345,
        event_stream_segment_bytes=4096,
        log_level="DEBUG",
        log_format="json",
        gc_threshold=1234,
        gateway_max_uploads=5,
        gateway_key_cache=False,
        metrics_enabled=False,
        metrics_host="0.0.0.0",
        metrics_port=9100,
        metrics_refresh_seconds=2.5,
        liveness_stall_seconds=30.0,
    )


def test_every_setting_is_written_and_reads_back_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _unusual()
    defaults = Settings(_env_file=None)
    assert {k for k, v in _revealed(s).items() if v == _revealed(defaults)[k]} == set()  # the test covers all
    env = settings_env(s)
    assert set(env) == ENV_NAMES == {name.upper() for name in Settings.model_fields}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _revealed(Settings(_env_file=None)) == _revealed(s)


def test_a_process_gets_its_settings_not_the_callers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RELAY_BATCH_SIZE", "1")
    monkeypatch.setenv("worker_lanes", "9")  # read case-insensitively: must not reach the process either
    monkeypatch.setenv("LEDGER_CRASH_AT", "worker.after_commit")
    monkeypatch.setenv("UNRELATED", "kept")
    procs = Processes(_unusual(), logdir=tmp_path)
    env = procs.env()
    assert env["RELAY_BATCH_SIZE"] == "9" and "worker_lanes" not in env and env["WORKER_LANES"] == "4"
    assert "LEDGER_CRASH_AT" not in env and env["UNRELATED"] == "kept"
    assert env["API_KEY_PEPPER"] == "pep-" + "p" * 40 and env["EVENT_SIGNING_KEYS"].startswith("k2:")
    assert (env["HTTP_HOST"], env["HTTP_PORT"]) == ("127.0.0.1", str(procs.port))  # the gateway's own port
    crashing = procs.env("relay.after_publish", LOG_LEVEL="WARNING")
    assert (crashing["LEDGER_CRASH_AT"], crashing["LOG_LEVEL"]) == ("relay.after_publish", "WARNING")


def test_relay_backoff_doubles_from_its_setting_up_to_its_cap() -> None:
    assert [retry_delay(n, 1.0, 300.0) for n in (1, 2, 3, 9, 10)] == [1.0, 2.0, 4.0, 256.0, 300.0]
    assert retry_delay(1, 0.001, 1.0) == 0.001
    assert retry_delay(3, 1.0, 300.0, jitter=1.5) == 6.0
    assert retry_delay(30, 1.0, 300.0, jitter=1.5) == 300.0  # the cap holds with jitter too


def test_a_command_past_its_timeout_takes_what_it_started_with_it() -> None:
    spawner = (
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run_group([sys.executable, "-c", spawner], env=dict(os.environ), timeout=2)
    assert time.monotonic() - started < 30
    child = int((info.value.stdout or "").split()[0])
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:  # reaped by init once killed
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie is dead too
