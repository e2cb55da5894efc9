"""``listen``: the customer's microphone on their avatar link, heard by the assistant.

Turns of speech (:mod:`avatarcall.avatar.hearing`) are recognised on an executor and given to
``on_heard``; speech over the assistant stops it at once (voice and lips), without waiting for
the words. Recognition starts at the customer's first pause, while the detector still waits to
be sure they have finished: when the turn ends with no word since, its words are (nearly) ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from avatarcall.avatar.hearing import BargeIn, Hearing, Pause, Turn
from avatarcall.avatar.recognizers import Recognizer
from avatarcall.avatar.voice import frame_to_mono

log = logging.getLogger(__name__)

# (text, seconds of speech, when the turn ended: time.monotonic())
OnHeard = Callable[[str, float, float], None]


async def listen(track: MediaStreamTrack, language: str, recognizer: Recognizer,
                 executor: Executor, interrupt: Callable[[], None], on_heard: OnHeard) -> None:
    """Until the track ends (or this is cancelled)."""
    hearing = Hearing()
    loop = asyncio.get_running_loop()
    early: tuple[int, asyncio.Future[str]] | None = None  # (voiced frames, their words)
    try:
        while True:
            frame = await track.recv()
            if not isinstance(frame, AudioFrame):
                continue
            for heard in hearing.feed(frame_to_mono(frame)):
                match heard:
                    case BargeIn():
                        interrupt()
                    case Pause(pcm=pcm, spoken=spoken):
                        early = (spoken, loop.run_in_executor(
                            executor, recognizer.transcribe, pcm, language))
                    case Turn(pcm=pcm, seconds=seconds, spoken=spoken):
                        ended = time.monotonic()
                        if early is not None and early[0] == spoken:
                            text = await early[1]  # no word since the pause
                        else:
                            text = await loop.run_in_executor(executor, recognizer.transcribe,
                                                              pcm, language)
                        early = None
                        log.info("heard %.1f s of speech in %.0f ms: %r", seconds,
                                 (time.monotonic() - ended) * 1000, text)
                        if text.strip():
                            on_heard(text, seconds, ended)
    except MediaStreamError:
        log.info("the customer's microphone link ended")
