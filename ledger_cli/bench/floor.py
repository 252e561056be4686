"""The ``http-floor`` scenario's server: a bare FastAPI POST, the floor under any FastAPI route here.

One route, ``POST /v1/transfers``, with a pydantic body shaped like a transfer's, answering 201 with a
small JSON document; served by uvicorn with httptools and uvloop, access log off, in a process of its
own so the bench reads its CPU time like the gateway's. What the gateway spends per HTTP transfer above
this floor is the ledger's own work: the key check and its rate limit, the broker round trip (a
confirmed publish and a consumed reply) and the conversion. Measured in the same run as the ``http``
scenario, the two figures are comparable on a machine whose speed drifts.

Run as ``python -m ledger_cli.bench.floor PORT``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

app = FastAPI()


class _Transfer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    debit_account_id: str
    credit_account_id: str
    amount: Annotated[int, Field(gt=0)]
    currency: str
    description: str | None = None


@app.post("/v1/transfers", status_code=201)
async def transfer(body: _Transfer) -> dict[str, object]:
    """Echo the transfer as if it were posted."""
    return {"status": "applied", "amount": body.amount, "currency": body.currency}


class FloorServer:
    """The floor's process, on a free loopback port, started and stopped by the bench."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self._proc = proc
        self.url = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self._proc.pid

    @classmethod
    async def start(cls) -> FloorServer:
        from ledger_cli.processes import free_port, listening  # not in the floor's own process

        port = free_port()
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ledger_cli.bench.floor", str(port))
        try:
            await listening(port, lambda: proc.returncode, "the floor server")
        except RuntimeError:
            if proc.returncode is None:
                proc.kill()
            raise
        return cls(proc, port)

    async def stop(self) -> None:
        self._proc.terminate()
        try:
            await asyncio.wait_for(self._proc.wait(), 10)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        http="httptools",
        proxy_headers=False,  # as the gateway's
        loop="auto",  # uvloop when installed, as the gateway's uvicorn.run does
    )
