"""The operator console: static files of ours (``http_gateway/console/``) served under ``/console``.

The console holds no data and needs no credential to load: it is a page that asks for an API key, keeps
it in the tab's ``sessionStorage`` and sends it as ``Authorization: Bearer`` to the ``/v1`` API, whose
scopes and wallet binding decide what it shows. No cookie is ever set, so another site cannot make a
browser act with it (no CSRF surface). Every response carries a strict Content-Security-Policy: only
our own scripts, styles and API, nothing inline, no framing. Outside the OpenAPI schema (not an API).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

DIRECTORY = Path(__file__).parent / "console"

#: The files there are, with their media types: nothing else under /console is served.
MEDIA_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",  # login, search, flows and the router
    "ui.js": "text/javascript; charset=utf-8",  # DOM helpers, the API client, the page frame
    "money.js": "text/javascript; charset=utf-8",  # the one way an amount is shown
    "wallet.js": "text/javascript; charset=utf-8",
    "events.js": "text/javascript; charset=utf-8",  # a wallet's live events, its holds and intents
    "objects.js": "text/javascript; charset=utf-8",  # a transaction, a hold, a payment intent
    "ops.js": "text/javascript; charset=utf-8",
    "recon.js": "text/javascript; charset=utf-8",  # breaks by age and reason, a match's two sides
    "charts.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def install(app: FastAPI) -> None:
    """``GET /console`` (the page) and ``GET /console/{asset}`` (its script and style), read once."""
    files = {name: (DIRECTORY / name).read_bytes() for name in MEDIA_TYPES}

    def serve(name: str) -> Response:
        return Response(files[name], media_type=MEDIA_TYPES[name], headers=HEADERS)

    @app.get("/console", include_in_schema=False)
    async def console_page() -> Response:
        return serve("index.html")

    @app.get("/console/{asset}", include_in_schema=False)
    async def console_asset(asset: str) -> Response:
        if asset in ("", "index.html"):
            return serve("index.html")
        if asset not in files:
            raise HTTPException(status_code=404, detail="no such console file")
        return serve(asset)
