"""``AvatarService``: the seam between calls and avatar sessions.

Callers ask for a session per call, its viewers' links and speech; where the session runs
(this process today, a worker process or machine tomorrow) is this module's business only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from avatarcall.avatar.links import AvatarLink
from avatarcall.avatar.session import AvatarSession, FrameObserver, SessionConfig
from avatarcall.avatar.speech import SpeechSynthesizer
from avatarcall.config import IceServer
from avatarcall.errors import AvatarBusy, AvatarCallError, AvatarUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AvatarFailure:
    call_id: str
    epoch: int
    error: AvatarCallError


@dataclass(frozen=True)
class AvatarLinkState:
    call_id: str
    epoch: int
    viewer: str
    state: str


AvatarEvent = AvatarFailure | AvatarLinkState


class AvatarService:
    """Avatar sessions of this process, keyed by call id; one epoch number per (re)start."""

    def __init__(self, synthesizer: SpeechSynthesizer, config: SessionConfig,
                 ice_servers: Callable[[], list[IceServer]], on_event: Callable[[AvatarEvent], None],
                 workers: int | None = None, observer: FrameObserver | None = None,
                 max_sessions: int = 0) -> None:
        self.max_sessions = max_sessions  # 0: no limit
        self._synth = synthesizer
        self._config = config
        self._ice = ice_servers
        self._on_event = on_event
        self._observer = observer
        self._executor = ThreadPoolExecutor(max_workers=workers or (os.cpu_count() or 2),
                                            thread_name_prefix="avatar")
        # Sound is encoded on a thread of its own: 20 ms chunks never wait behind a frame's
        # render or a sentence's synthesis.
        self._audio_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-audio")
        self._sessions: dict[str, AvatarSession] = {}
        self._epochs: dict[str, int] = {}
        self._links: dict[tuple[str, str], AvatarLink] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # Epochs never repeat, not even across a server restart: a page holding an old epoch
        # always learns that its avatar session is gone.
        self._epoch_counter = itertools.count(int(time.time() * 1000) % 10**12)

    def get(self, call_id: str) -> AvatarSession | None:
        session = self._sessions.get(call_id)
        return session if session is not None and not session.closed else None

    def epoch(self, call_id: str) -> int:
        return self._epochs.get(call_id, 0)

    def sessions(self) -> list[AvatarSession]:
        return [s for s in self._sessions.values() if not s.closed]

    def has_room(self) -> bool:
        return not self.max_sessions or len(self.sessions()) < self.max_sessions

    async def start(self, call_id: str, language: str) -> AvatarSession:
        """Start (or restart) the call's session under a new epoch; :class:`AvatarBusy` when
        ``max_sessions`` are running."""
        await self.stop(call_id)
        if not self.has_room():
            raise AvatarBusy("Every avatar this server can render is in use.")
        epoch = next(self._epoch_counter)
        self._epochs[call_id] = epoch
        session = AvatarSession(call_id, epoch, language, self._synth, self._executor,
                                self._config, self._session_failed, self._observer,
                                audio_executor=self._audio_executor)
        self._sessions[call_id] = session
        session.start()
        return session

    async def stop(self, call_id: str) -> None:
        session = self._sessions.pop(call_id, None)
        try:
            await self._close_links(lambda key, _: key[0] == call_id)
        finally:
            if session is not None:
                await session.close()

    async def _close_links(self, which: Callable[[tuple[str, str], AvatarLink], bool]) -> None:
        # Each link is taken out before the await: a concurrent stop never finds it twice.
        for key in [k for k, link in self._links.items() if which(k, link)]:
            link = self._links.pop(key, None)
            if link is not None:
                await link.close()

    def _session_failed(self, session: AvatarSession, error: AvatarCallError) -> None:
        # A failed session is never handed out again, from this instant on.
        if self._sessions.get(session.call_id) is session:
            del self._sessions[session.call_id]
        # Called from inside the session's own task: close it from a task we own.
        task = asyncio.get_running_loop().create_task(self._drop_failed(session))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        self._on_event(AvatarFailure(session.call_id, session.epoch, error))

    async def _drop_failed(self, session: AvatarSession) -> None:
        try:
            await self._close_links(lambda _, link: link.session is session)
        finally:
            await session.close()  # no longer in _sessions: nothing else would ever close it

    async def connect(self, call_id: str, epoch: int, viewer: str, audience: bool,
                      offer_sdp: str, accept_voice: bool = False) -> str:
        """Answer a viewer's offer for the session of ``epoch``; replaces that viewer's old link."""
        session = self.get(call_id)
        if session is None or session.epoch != epoch:
            raise AvatarUnavailable("This avatar is not running any more; wait for the next one.")
        old = self._links.pop((call_id, viewer), None)
        if old is not None:
            await old.close()
        link, answer = await AvatarLink.answer(session, viewer, audience, offer_sdp, self._ice(),
                                               self._link_state, accept_voice=accept_voice)
        self._links[(call_id, viewer)] = link
        return answer

    async def disconnect(self, call_id: str, viewer: str) -> None:
        link = self._links.pop((call_id, viewer), None)
        if link is not None:
            await link.close()

    def _link_state(self, link: AvatarLink, state: str) -> None:
        self._on_event(AvatarLinkState(link.session.call_id, link.session.epoch, link.viewer.id, state))

    def viewer_total(self) -> int:
        return len(self._links)

    async def close(self) -> None:
        for call_id in list(self._sessions):
            await self.stop(call_id)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._audio_executor.shutdown(wait=False, cancel_futures=True)
