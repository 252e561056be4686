"""``/docs`` (Swagger UI) from files installed with the project: nothing leaves the origin.

FastAPI's own page loads Swagger UI and a favicon from CDNs: a blank page on a machine without internet.
The same UI comes here from the ``fastapi-offline`` distribution (pinned in constraints.txt), which vendors
Swagger UI 5 as static files; we use its files only, not its app factory. Our page and Swagger UI's start
script (``http_gateway/api_docs/``) reference them under ``/docs/assets/``, and every answer carries a
policy that lets the browser fetch from this origin only: scripts from files (no inline script), inline
styles allowed (Swagger UI sets style attributes). Public like ``/openapi.json``; outside the OpenAPI schema.

No ``/redoc``: ReDoc 2 always shows an attribution whose image it fetches from its vendor's CDN, so it could
not be served without a request leaving the origin. No OAuth2 redirect page: the API's only scheme is a
bearer key.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, HTTPException
from fastapi.responses import Response

OURS = Path(__file__).parent / "api_docs"
VENDORED = Path(fastapi_offline.__file__).parent / "static"

#: Every file under /docs/assets/, where it comes from, and its media type: nothing else is served.
ASSETS = {
    "swagger-ui-bundle.js": (VENDORED, "text/javascript; charset=utf-8"),
    "swagger-ui.css": (VENDORED, "text/css; charset=utf-8"),
    "favicon.png": (VENDORED, "image/png"),
    "swagger-init.js": (OURS, "text/javascript; charset=utf-8"),
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " font-src 'self' data:; connect-src 'self'; frame-ancestors 'none';"
    " base-uri 'none'; form-action 'self'"
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",  # as the console's: a new release's files are never mixed with old ones
}


def install(app: FastAPI) -> None:
    """``GET /docs`` and ``GET /docs/assets/{asset}``, every file read once at start."""
    page = (OURS / "swagger.html").read_bytes()
    assets = {name: ((where / name).read_bytes(), media) for name, (where, media) in ASSETS.items()}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    @app.get("/docs/assets/{asset}", include_in_schema=False)
    async def docs_asset(asset: str) -> Response:
        if asset not in assets:
            raise HTTPException(status_code=404, detail="no such documentation file")
        body, media = assets[asset]
        return Response(body, media_type=media, headers=HEADERS)
