"""The shipped pages and their static files."""

from __future__ import annotations

import secrets
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from avatarcall.web.headers import content_security_policy

router = APIRouter()

DOCS_CDN = "https://cdn.jsdelivr.net"

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


def _with_nonce(page: HTMLResponse, request: Request, fonts: str = "") -> HTMLResponse:
    """FastAPI's docs pages have one inline script or style: let exactly that one run (a nonce),
    and their files come from the CDN they name; the rest of the strict policy still holds."""
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    html = html.replace("<style>", f'<style nonce="{nonce}">')
    policy = content_security_policy(
        request.app.state.settings.frame_ancestors,
        script=f"'self' 'nonce-{nonce}' {DOCS_CDN}",
        style=f"'self' 'unsafe-inline' {DOCS_CDN} {fonts}".strip(),
        img=f"'self' data: blob: {DOCS_CDN} https://fastapi.tiangolo.com",
    ).replace("font-src 'self'", f"font-src 'self' {fonts or DOCS_CDN}")
    return HTMLResponse(html, headers={"content-security-policy": policy})


@router.get("/docs", include_in_schema=False)
async def api_docs(request: Request) -> HTMLResponse:
    return _with_nonce(get_swagger_ui_html(openapi_url="/openapi.json", title="avatarcall — API"),
                       request)


@router.get("/redoc", include_in_schema=False)
async def api_redoc(request: Request) -> HTMLResponse:
    return _with_nonce(get_redoc_html(openapi_url="/openapi.json", title="avatarcall — API"),
                       request, fonts="https://fonts.googleapis.com https://fonts.gstatic.com")
