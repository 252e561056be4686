"""A real Prometheus for a test: its own config, storage and port, started and stopped by pid.

The binary is Debian's ``prometheus`` package, installed by the project's setup (``make tools``); a
test that needs it fails (not skips) when it is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ledger_cli.processes import free_port


@dataclass(frozen=True)
class Target:
    """One scrape job: ``host:port`` and, for the gateway's public port, the bearer token."""

    job: str
    address: str
    token: str | None = None


def binary(name: str) -> str:
    path = shutil.which(name)
    assert path is not None, f"{name} is not installed: run `make tools` (apt-get install prometheus)"
    return path


class Prometheus:
    """``start()`` writes the config and waits for ``/-/ready``; ``stop()`` terminates this process only."""

    def __init__(self, workdir: Path, targets: list[Target], *, interval: str = "1s") -> None:
        self.workdir = workdir
        self.targets = targets
        self.interval = interval
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        jobs = []
        for t in self.targets:
            job: dict[str, Any] = {"job_name": t.job, "static_configs": [{"targets": [t.address]}]}
            if t.token is not None:
                job["authorization"] = {"type": "Bearer", "credentials": t.token}
            jobs.append(job)
        return {"global": {"scrape_interval": self.interval, "scrape_timeout": self.interval}, "scrape_configs": jobs}

    def start(self) -> None:
        config = self.workdir / "prometheus.yml"
        config.write_text(json.dumps(self.config()))  # JSON is YAML
        argv = [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with (self.workdir / "prometheus.log").open("ab") as out:
            self._proc = subprocess.Popen(argv, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self._proc.poll() is None, (self.workdir / "prometheus.log").read_text()
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("prometheus not ready after 30 s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector ``expr`` evaluates to now."""
        async with httpx.AsyncClient(timeout=10) as c:
            r = await c.get(f"{self.url}/api/v1/query", params={"query": expr})
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json()["data"]["result"]
        return result

    async def by(self, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
        """``expr``'s samples keyed by the values of ``labels``."""
        return {tuple(s["metric"].get(n, "") for n in labels): float(s["value"][1]) for s in await self.query(expr)}

    async def settles(self, expr: str, labels: tuple[str, ...], expected: dict[tuple[str, ...], float]) -> None:
        """Wait until ``expr`` by ``labels`` equals ``expected`` exactly (scrapes lag: up to 60 s)."""
        deadline = time.monotonic() + 60
        got = await self.by(expr, *labels)
        while got != expected and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            got = await self.by(expr, *labels)
        assert got == expected, f"{expr}: Prometheus has {got}, expected {expected}"

    async def targets_up(self) -> dict[str, str]:
        """Job -> health of its target, as Prometheus last scraped it."""
        async with httpx.AsyncClient(timeout=10) as c:
            r = await c.get(f"{self.url}/api/v1/targets")
        return {t["labels"]["job"]: t["health"] for t in r.json()["data"]["activeTargets"]}
