"""``/avatar/loops/{idle|talking}.webm``: the overlay mode's loops of this server's character
(``avatar/loops.py``), made on the first request and served from the data directory after."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from avatarcall.avatar.loops import LoopKind
from avatarcall.web.deps import ServicesDep

router = APIRouter()


@router.get("/avatar/loops/{kind}.webm", include_in_schema=False)
async def overlay_loop(kind: LoopKind, services: ServicesDep) -> FileResponse:
    path = await services.overlay_loops.path(kind)
    # A few minutes: a restart with another character serves other loops under the same name.
    return FileResponse(path, media_type="video/webm",
                        headers={"cache-control": "public, max-age=300"})
