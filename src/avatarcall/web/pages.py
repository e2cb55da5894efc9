"""The shipped pages and their static files."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter()

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
