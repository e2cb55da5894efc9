"""The server side of an avatar link: one aiortc peer connection per viewer.

aiortc has no ICE restart and no trickle ICE: the browser sends a complete offer, we answer with
all our candidates, and a failed link is replaced by a new one (the page makes a new offer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack

from avatarcall.avatar.adapt import LayerChoice, follow
from avatarcall.avatar.session import AvatarSession, Viewer
from avatarcall.config import IceServer
from avatarcall.errors import BadSdp

log = logging.getLogger(__name__)


def rtc_configuration(servers: list[IceServer]) -> RTCConfiguration:
    # aiortc takes one TURN server; it tries them in order, which is what we want anyway.
    return RTCConfiguration(
        iceServers=[RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                    for s in servers]
    )


class AvatarLink:
    """One viewer's peer connection, bound to one avatar session."""

    def __init__(self, session: AvatarSession, viewer: Viewer, pc: RTCPeerConnection,
                 on_state: Callable[[AvatarLink, str], None]) -> None:
        self.session = session
        self.viewer = viewer
        self.pc = pc
        self._on_state = on_state
        self._closing: asyncio.Future[None] | None = None

        @pc.on("connectionstatechange")
        def _changed() -> None:
            state = pc.connectionState
            log.info("avatar link call=%s viewer=%s state=%s", session.call_id, viewer.id, state)
            if state == "connected":
                session.viewer_connected(viewer)
            self._on_state(self, state)

    @classmethod
    async def answer(
        cls,
        session: AvatarSession,
        viewer_id: str,
        audience: bool,
        offer_sdp: str,
        ice_servers: list[IceServer],
        on_state: Callable[[AvatarLink, str], None],
        accept_voice: bool = False,
        listen: Callable[[MediaStreamTrack], None] | None = None,
    ) -> tuple[AvatarLink, str]:
        """Answer the page's offer; the answer carries every candidate (no trickle in aiortc).

        With ``accept_voice``, audio the page sends (the agent's microphone) becomes the
        avatar's voice; with ``listen``, it is the customer talking to the assistant;
        otherwise the link only sends.
        """
        pc = RTCPeerConnection(rtc_configuration(ice_servers))
        if accept_voice or listen is not None:
            @pc.on("track")
            def _voice(track: MediaStreamTrack) -> None:
                if track.kind != "audio":
                    return
                if accept_voice:
                    session.attach_voice(track)
                elif listen is not None:
                    listen(track)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception as exc:  # noqa: BLE001 (aiortc raises anything on a bad SDP)
            await pc.close()
            raise BadSdp(f"the avatar offer could not be read: {exc}") from None
        kinds = {t.kind for t in pc.getTransceivers()}
        if "video" not in kinds:
            await pc.close()
            raise BadSdp("the avatar offer must receive video")
        viewer = session.add_viewer(viewer_id, audience)
        link = cls(session, viewer, pc, on_state)
        for transceiver in pc.getTransceivers():
            track = viewer.video if transceiver.kind == "video" else viewer.audio
            transceiver.sender.replaceTrack(track)
            if transceiver.kind == "video":
                follow(transceiver.sender,
                       LayerChoice(session.layers, asyncio.get_running_loop().time(),
                                   start=viewer.layer),
                       lambda layer: session.set_layer(viewer, layer.name),
                       lambda: session.request_keyframe(viewer.layer))
            voice = (accept_voice or listen is not None) and transceiver.kind == "audio"
            transceiver.direction = "sendrecv" if voice else "sendonly"
        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # noqa: BLE001 (aiortc raises anything on an odd offer)
            await link.close()
            raise BadSdp(f"no answer could be made to the avatar offer: {exc}") from None
        return link, pc.localDescription.sdp

    async def close(self) -> None:
        """Close the peer connection; every caller, the second one too, returns once it is closed
        (and a caller that is cancelled does not cancel the close)."""
        if self._closing is None:
            self.session.remove_viewer(self.viewer)
            self._closing = asyncio.ensure_future(self._close_pc())
        await asyncio.shield(self._closing)

    async def _close_pc(self) -> None:
        try:
            await asyncio.wait_for(self.pc.close(), timeout=5)
        except (TimeoutError, Exception):  # closing must never raise into the caller
            log.warning("avatar link close failed call=%s viewer=%s", self.session.call_id,
                        self.viewer.id, exc_info=True)
