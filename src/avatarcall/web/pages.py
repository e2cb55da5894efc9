"""The shipped pages and their static files."""

from __future__ import annotations

import secrets
from importlib import resources
from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from avatarcall.web.headers import content_security_policy

router = APIRouter()

DOCS_ASSETS = "/docs/assets"  # Swagger UI's files, from the swagger-ui-bundle package
SWAGGER_UI = Path(swagger_ui_bundle.swagger_ui_path)

STATIC = resources.files("avatarcall") / "static"


@router.get("/", include_in_schema=False)
async def customer_page() -> FileResponse:
    return FileResponse(str(STATIC / "app" / "customer.html"))


@router.get("/agent", include_in_schema=False)
async def agent_page() -> FileResponse:
    return FileResponse(str(STATIC / "app" / "agent.html"))


@router.get("/admin", include_in_schema=False)
async def admin_page() -> FileResponse:
    return FileResponse(str(STATIC / "app" / "admin.html"))


@router.get("/diagnostics", include_in_schema=False)
async def diagnostics_page() -> FileResponse:
    return FileResponse(str(STATIC / "app" / "diagnostics.html"))


def _with_nonce(page: HTMLResponse, request: Request) -> HTMLResponse:
    """The docs page has one inline script: exactly that one runs (a nonce); Swagger UI's own
    files come from this server (the ``swagger-ui-bundle`` package), never from a CDN."""
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    policy = content_security_policy(
        request.app.state.settings.frame_ancestors,
        script=f"'self' 'nonce-{nonce}'",
        style="'self' 'unsafe-inline'",  # Swagger UI sets styles on its elements
    )
    return HTMLResponse(html, headers={"content-security-policy": policy})


@router.get("/docs", include_in_schema=False)
async def api_docs(request: Request) -> HTMLResponse:
    return _with_nonce(get_swagger_ui_html(
        openapi_url="/openapi.json", title="avatarcall — API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png"), request)
