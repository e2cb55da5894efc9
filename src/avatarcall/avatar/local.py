"""``LocalAvatarControl``: avatar sessions in this process, behind :class:`AvatarControl`.

Each session renders and encodes once on the executor threads and fans its packets out to its
viewers' aiortc links. Nothing here is handed out: callers speak in keys, epochs and SDP.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

from aiortc.mediastreams import MediaStreamTrack

from avatarcall.avatar.control import (
    AvatarEvent,
    AvatarFailed,
    AvatarLoad,
    Fault,
    Heard,
    SlotFreed,
    ViewerLinkChanged,
)
from avatarcall.avatar.links import AvatarLink
from avatarcall.avatar.listening import listen
from avatarcall.avatar.recognizers import Recognizer
from avatarcall.avatar.session import AvatarSession, FrameObserver, SessionConfig, SessionParts
from avatarcall.avatar.speech import SpeechSynthesizer
from avatarcall.config import IceServer
from avatarcall.errors import AvatarBusy, AvatarCallError, AvatarUnavailable
from avatarcall.ice.peers import PeerNetworks

log = logging.getLogger(__name__)


class Superseded(AvatarUnavailable):
    """A newer offer of the same viewer came in while this one waited: only the newest counts."""

    code = "superseded"


class LocalAvatarControl:
    """Avatar sessions of this process, keyed by call id; one epoch number per (re)start."""

    def __init__(self, synthesizer: SpeechSynthesizer, config: SessionConfig,
                 ice_servers: Callable[[], list[IceServer]], *, workers: int | None = None,
                 observer: FrameObserver | None = None, max_sessions: int = 0,
                 peers: PeerNetworks | None = None, warm: int = 1,
                 recognizer: Recognizer | None = None) -> None:
        self.max_sessions = max_sessions  # 0: no limit
        self.recognizer = recognizer  # the customer may talk to the assistant (its languages)
        self._listening: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._synth = synthesizer
        self._config = config
        self._ice = ice_servers
        self._observer = observer
        self._peers = peers or PeerNetworks()
        self._executor = ThreadPoolExecutor(max_workers=workers or (os.cpu_count() or 2),
                                            thread_name_prefix="avatar")
        # Sound is encoded on a thread of its own: 20 ms chunks never wait behind a frame's
        # render or a sentence's synthesis.
        self._audio_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-audio")
        self._hearing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="avatar-hearing")
        self._sessions: dict[str, AvatarSession] = {}
        self._links: dict[tuple[str, str], AvatarLink] = {}
        self._voice_from: dict[str, str] = {}
        # One offer answered at a time per viewer; a newer one makes the waiting ones moot.
        self._offer_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._offer_seq: dict[tuple[str, str], int] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._warm = warm  # sessions' parts kept made ahead
        self._spares: list[SessionParts] = []
        self._refilling: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[AvatarEvent] = asyncio.Queue()
        # Epochs never repeat, not even across a server restart: a page holding an old epoch
        # always learns that its avatar session is gone.
        self._epoch_counter = itertools.count(int(time.time() * 1000) % 10**12)

    def _live(self, key: str) -> AvatarSession:
        session = self._sessions.get(key)
        if session is None or session.closed:
            raise AvatarUnavailable("This avatar is not running.")
        return session

    def load(self) -> AvatarLoad:
        running = sum(1 for s in self._sessions.values() if not s.closed)
        return AvatarLoad(sessions=running, viewers=len(self._links),
                          capacity=self.max_sessions or None)

    async def events(self) -> AsyncIterator[AvatarEvent]:  # type: ignore[override]
        while True:
            yield await self._events.get()

    async def start(self, key: str, language: str, *, epoch: int | None = None) -> int:
        """``epoch``: the one a worker's server chose (epochs are the server's); else a new one."""
        await self.stop(key)
        load = self.load()
        if load.capacity is not None and load.sessions >= load.capacity:
            raise AvatarBusy("Every avatar this server can render is in use.")
        epoch = next(self._epoch_counter) if epoch is None else epoch
        parts = self._spares.pop() if self._spares else await asyncio.get_running_loop(
        ).run_in_executor(self._executor, SessionParts.build, self._config)
        self._refill()
        session = AvatarSession(key, epoch, language, self._synth, self._executor,
                                self._config, self._session_failed, self._observer,
                                audio_executor=self._audio_executor, parts=parts)
        self._sessions[key] = session
        session.start()
        return epoch

    def prepare(self) -> None:
        """Make the warm sessions' parts now (in the background), before the first start."""
        self._refill()

    def _refill(self) -> None:
        """Keep ``warm`` sessions' parts made ahead (off the event loop), so a start is quick."""
        if self._refilling is not None or len(self._spares) >= self._warm:
            return

        async def refill() -> None:
            loop = asyncio.get_running_loop()
            try:
                while len(self._spares) < self._warm:
                    self._spares.append(await loop.run_in_executor(
                        self._executor, SessionParts.build, self._config))
            finally:
                self._refilling = None

        self._refilling = asyncio.get_running_loop().create_task(refill())

    async def stop(self, key: str) -> None:
        session = self._sessions.pop(key, None)
        self._voice_from.pop(key, None)
        for slot in [s for s in self._listening if s[0] == key]:
            self._listening.pop(slot).cancel()
        try:
            await self._close_links(lambda k, _: k[0] == key)
        finally:
            if session is not None:
                await session.close()
                self._events.put_nowait(SlotFreed(key, session.epoch))

    async def running(self) -> list[tuple[str, int]]:
        return [(key, s.epoch) for key, s in self._sessions.items() if not s.closed]

    async def epoch(self, key: str) -> int | None:
        session = self._sessions.get(key)
        return session.epoch if session is not None and not session.closed else None

    async def say(self, key: str, text: str, *, when_watched: bool = False,
                  language: str | None = None, append: bool = False) -> None:
        self._live(key).say(text, when_watched=when_watched, language=language, append=append)

    async def interrupt(self, key: str) -> None:
        session = self._sessions.get(key)
        if session is not None:
            session.interrupt()

    async def use_voice(self, key: str, viewer: str | None) -> None:
        if viewer is not None:
            self._voice_from[key] = viewer
            return
        self._voice_from.pop(key, None)
        session = self._sessions.get(key)
        if session is not None and session.voice_attached:
            session.detach_voice()

    async def answer(self, key: str, epoch: int, viewer: str, sdp: str, *, audience: bool,
                     ice_servers: list[IceServer] | None = None) -> str:
        """``ice_servers``: what this link uses (a worker gets them from its server with fresh
        TURN credentials); else this process's own."""
        slot = (key, viewer)
        seq = self._offer_seq[slot] = self._offer_seq.get(slot, 0) + 1
        try:
            async with self._offer_locks.setdefault(slot, asyncio.Lock()):
                if self._offer_seq.get(slot) != seq:
                    raise Superseded("A newer avatar offer from this page replaced this one.")
                return await self._answer(key, epoch, viewer, sdp, audience,
                                          self._ice() if ice_servers is None else ice_servers)
        finally:
            if self._offer_seq.get(slot) == seq:  # the newest offer is done: nothing waits
                del self._offer_seq[slot]
                self._offer_locks.pop(slot, None)

    async def _answer(self, key: str, epoch: int, viewer: str, sdp: str, audience: bool,
                      ice_servers: list[IceServer]) -> str:
        session = self._sessions.get(key)
        if session is None or session.closed or session.epoch != epoch:
            raise AvatarUnavailable("This avatar is not running any more; wait for the next one.")
        sdp, dropped = self._peers.filter_sdp(sdp)
        if dropped:
            log.warning("avatar offer call=%s viewer=%s: %d candidate(s) outside the allowed "
                        "networks left out (avatar_peer_networks)", key, viewer, dropped)
        old = self._links.pop((key, viewer), None)
        if old is not None:
            await old.close()
        hears = (audience and self.recognizer is not None
                 and session.language in self.recognizer.languages)
        link, answer = await AvatarLink.answer(
            session, viewer, audience, sdp, ice_servers, self._link_state,
            accept_voice=self._voice_from.get(key) == viewer,
            listen=(lambda track: self._listen(session, viewer, track)) if hears else None)
        if session.closed:  # stopped while we answered: the link must not outlive it
            await link.close()
            raise AvatarUnavailable("This avatar is not running any more; wait for the next one.")
        self._links[(key, viewer)] = link
        return answer

    def _listen(self, session: AvatarSession, viewer: str, track: MediaStreamTrack) -> None:
        """The customer's microphone on their link: what they say becomes :class:`Heard`."""
        assert self.recognizer is not None
        key, epoch = session.call_id, session.epoch

        def heard(text: str, _seconds: float, _ended: float) -> None:
            self._events.put_nowait(Heard(key, epoch, text))

        old = self._listening.pop((key, viewer), None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(
            listen(track, session.language, self.recognizer, self._hearing, session.interrupt,
                   heard), name=f"avatar-listen-{key}")
        self._listening[(key, viewer)] = task
        task.add_done_callback(lambda t: self._listening.pop((key, viewer), None)
                               if self._listening.get((key, viewer)) is t else None)

    async def drop_viewer(self, key: str, viewer: str) -> None:
        link = self._links.pop((key, viewer), None)
        if link is not None:
            await link.close()

    async def fault(self, key: str, kind: Fault) -> int:
        session = self._live(key)
        if kind == "crash":
            session.inject_fault("crash")
        else:
            await session.stop_as_failed()
        return session.epoch

    async def _close_links(self, which: Callable[[tuple[str, str], AvatarLink], bool]) -> None:
        # Each link is taken out before the await: a concurrent stop never finds it twice.
        for key in [k for k, link in self._links.items() if which(k, link)]:
            link = self._links.pop(key, None)
            if link is not None:
                await link.close()

    def _session_failed(self, session: AvatarSession, error: AvatarCallError) -> None:
        # A failed session is never used again, from this instant on.
        if self._sessions.get(session.call_id) is session:
            del self._sessions[session.call_id]
        # Called from inside the session's own task: close it from a task we own.
        task = asyncio.get_running_loop().create_task(self._drop_failed(session))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        self._events.put_nowait(AvatarFailed(session.call_id, session.epoch, error.code,
                                             error.message, error.retryable))

    async def _drop_failed(self, session: AvatarSession) -> None:
        try:
            await self._close_links(lambda _, link: link.session is session)
        finally:
            await session.close()  # no longer in _sessions: nothing else would ever close it
            self._events.put_nowait(SlotFreed(session.call_id, session.epoch))

    def _link_state(self, link: AvatarLink, state: str) -> None:
        self._events.put_nowait(ViewerLinkChanged(link.session.call_id, link.session.epoch,
                                                  link.viewer.id, state))

    async def close(self) -> None:
        if self._refilling is not None:
            self._refilling.cancel()
            await asyncio.gather(self._refilling, return_exceptions=True)
        for key in list(self._sessions):
            await self.stop(key)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._audio_executor.shutdown(wait=False, cancel_futures=True)
        self._hearing.shutdown(wait=False, cancel_futures=True)
