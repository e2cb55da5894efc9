"""An avatar session: one clock, one speech timeline, one renderer and encoder, many viewers.

Video and audio are paced by the same clock (``t0`` on the event loop's monotonic time), so a
frame's RTP timestamp and the audio it shows the mouth of are the same instant. Rendering and
encoding (VP8 frames, Opus chunks) run in an executor, once whatever the number of viewers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from avatarcall.avatar.encoder import EncodedFrame, SharedOpusEncoder
from avatarcall.avatar.layers import HIGH, Layer, LayeredEncoder, layers_for
from avatarcall.avatar.motion import FacePose, IdleMotion
from avatarcall.avatar.pacing import PHASES, Nap, sleep_until
from avatarcall.avatar.renderer import Renderer, make_renderer
from avatarcall.avatar.speech import SAMPLE_RATE, SpeechSynthesizer
from avatarcall.avatar.timeline import SpeechTimeline
from avatarcall.avatar.tracks import FanoutAudioTrack, PacketVideoTrack, Sound
from avatarcall.avatar.visemes import Viseme
from avatarcall.avatar.voice import LiveVoice, frame_to_mono
from avatarcall.errors import AvatarCallError, AvatarCrashed, AvatarStopped

log = logging.getLogger(__name__)

AUDIO_CHUNK = SAMPLE_RATE // 50  # 20 ms
SPEECH_LEAD = SAMPLE_RATE // 10  # new speech starts 100 ms ahead of the playhead


@dataclass(frozen=True)
class SessionConfig:
    size: int = 512
    fps: int = 25
    bitrate: int = 800_000
    keyframe_interval: float = 10.0
    character: str = "ava"
    palette: tuple[tuple[str, str], ...] = ()
    image_dir: Path | None = None


@dataclass
class SessionParts:
    """What a session draws and encodes with: slow to make (fonts, a pixel buffer, codecs), so
    made ahead, off the event loop, and handed to a session when it starts (a warm start)."""

    renderer: Renderer
    video: LayeredEncoder
    audio: SharedOpusEncoder

    @classmethod
    def build(cls, config: SessionConfig) -> SessionParts:
        """Blocking (CPU): call it in an executor."""
        renderer = make_renderer(config.character, config.size, dict(config.palette) or None,
                                 config.image_dir)
        return cls(renderer, LayeredEncoder(layers_for(config.size, config.bitrate)),
                   SharedOpusEncoder())


@dataclass
class SessionStats:
    frames: int = 0
    late_frames: int = 0
    render_ms: list[float] = field(default_factory=list)
    encode_ms: list[float] = field(default_factory=list)

    def record(self, render_ms: float, encode_ms: float) -> None:
        self.frames += 1
        self.render_ms.append(render_ms)
        self.encode_ms.append(encode_ms)
        if len(self.render_ms) > 2000:
            del self.render_ms[:1000], self.encode_ms[:1000]


@dataclass
class Viewer:
    id: str
    audience: bool  # the customer (speech waits for them), not a preview
    video: PacketVideoTrack
    audio: FanoutAudioTrack
    connected: bool = False
    layer: str = HIGH  # the encoding its link carries (see layers, adapt)


FailureHandler = Callable[["AvatarSession", AvatarCallError], None]


class FrameObserver(Protocol):
    """Receives per-frame costs (from the executor thread) and late-frame counts."""

    def frame(self, render_ms: float, encode_ms: float) -> None: ...

    def late(self, frames: int) -> None: ...


class AvatarSession:
    def __init__(
        self,
        call_id: str,
        epoch: int,
        language: str,
        synthesizer: SpeechSynthesizer,
        executor: Executor,
        config: SessionConfig,
        on_failure: FailureHandler,
        observer: FrameObserver | None = None,
        audio_executor: Executor | None = None,
        parts: SessionParts | None = None,
    ) -> None:
        self.call_id = call_id
        self.epoch = epoch
        self.language = language
        self.config = config
        self.stats = SessionStats()
        self.error: AvatarCallError | None = None
        self._synth = synthesizer
        self._executor = executor
        self._audio_executor = audio_executor or executor
        self._on_failure = on_failure
        self._observer = observer
        parts = parts or SessionParts.build(config)
        self._renderer = parts.renderer
        self._encoder = parts.video
        self._audio_encoder = parts.audio
        self._interruptions = 0
        self._motion = IdleMotion(seed=hash((call_id, epoch)) & 0xFFFF)
        self._timeline = SpeechTimeline()
        self._viewers: dict[str, Viewer] = {}
        self._last_layer: dict[str, str] = {}  # per viewer id: a new link of it starts there
        self._pending: list[str] = []  # speech waiting for the customer to watch
        self._last_speech: asyncio.Task[None] | None = None
        self._keyframes_wanted: set[str] = set(parts.video.layers)
        self._frame_wait = Nap()  # woken when a viewer waits for its first picture
        self._fault: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._speech_tasks: set[asyncio.Task[None]] = set()
        self._voice: LiveVoice | None = None
        self._voice_task: asyncio.Task[None] | None = None
        self._t0 = 0.0
        self._audio_pos = 0
        self._closed = False

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._t0 = loop.time() + PHASES.next(self.config.fps)  # frames take turns (pacing.py)
        self._tasks = [
            loop.create_task(self._supervise(self._video_loop), name=f"avatar-video-{self.call_id}"),
            loop.create_task(self._supervise(self._audio_loop), name=f"avatar-audio-{self.call_id}"),
        ]
        log.info("avatar session started call=%s epoch=%s", self.call_id, self.epoch)

    async def close(self, error: AvatarCallError | None = None) -> None:
        """Stop the loops, wait for them to exit, end every viewer's tracks. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if error is not None and self.error is None:
            self.error = error
        current = asyncio.current_task()
        extra = [self._voice_task] if self._voice_task is not None else []
        tasks = [t for t in (*self._tasks, *self._speech_tasks, *extra) if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for viewer in self._viewers.values():
            viewer.video.stop()
            viewer.audio.stop()
        self._viewers.clear()
        log.info("avatar session closed call=%s epoch=%s error=%s", self.call_id, self.epoch,
                 self.error.code if self.error else None)

    @property
    def closed(self) -> bool:
        return self._closed

    async def _supervise(self, run: Callable[[], Awaitable[None]]) -> None:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a crash of the avatar must never reach the call
            log.exception("avatar session crashed call=%s epoch=%s", self.call_id, self.epoch)
            error = AvatarCrashed(f"The avatar stopped unexpectedly ({type(exc).__name__}).")
            if not self._closed:
                self.error = error
                self._on_failure(self, error)

    # --- viewers ---------------------------------------------------------------------

    def add_viewer(self, viewer_id: str, audience: bool) -> Viewer:
        old = self._viewers.pop(viewer_id, None)
        if old is not None:
            old.video.stop()
            old.audio.stop()

        def keyframe() -> None:
            self.request_keyframe(viewer.layer)

        viewer = Viewer(viewer_id, audience, PacketVideoTrack(keyframe), FanoutAudioTrack(),
                        layer=self._last_layer.get(viewer_id, HIGH))
        if not self._closed:
            self._viewers[viewer_id] = viewer
        self.request_keyframe(viewer.layer)
        return viewer

    def set_layer(self, viewer: Viewer, layer: str) -> None:
        """``viewer`` watches ``layer`` from its next keyframe on."""
        if viewer.layer != layer and layer in self._encoder.layers:
            log.info("avatar layer call=%s viewer=%s %s -> %s", self.call_id, viewer.id,
                     viewer.layer, layer)
            viewer.layer = self._last_layer[viewer.id] = layer
            viewer.video.resync()
            self.request_keyframe(layer)

    def remove_viewer(self, viewer: Viewer) -> None:
        if self._viewers.get(viewer.id) is viewer:
            del self._viewers[viewer.id]
        viewer.video.stop()
        viewer.audio.stop()

    def viewer_connected(self, viewer: Viewer) -> None:
        viewer.connected = True
        self.request_keyframe(viewer.layer)
        self._frame_wait.wake()  # its first picture now, not at the next frame's time
        if viewer.audience and self._pending:
            texts, self._pending = self._pending, []
            for text in texts:
                self.say(text)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Best first."""
        return tuple(self._encoder.layers.values())

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    def request_keyframe(self, layer: str | None = None) -> None:
        """A keyframe of ``layer`` (every layer if None) in the next frame."""
        self._keyframes_wanted |= {layer} if layer is not None else set(self._encoder.layers)

    # --- speech ----------------------------------------------------------------------

    def say(self, text: str, *, when_watched: bool = False, language: str | None = None,
            append: bool = False) -> None:
        """Speak ``text`` (in ``language``, else the call's), cutting off whatever the avatar
        was saying, or with ``append`` after it (a streamed answer, sentence by sentence). With
        ``when_watched``, wait until the customer's avatar is connected (a greeting).
        """
        if self._closed:
            return
        if when_watched and not any(v.audience and v.connected for v in self._viewers.values()):
            self._pending.append(text)
            return
        before = self._last_speech if append else None
        if not append:
            self.interrupt()
        task = asyncio.get_running_loop().create_task(
            self._speak(text, language or self.language, after=before))
        self._last_speech = task
        self._speech_tasks.add(task)
        task.add_done_callback(self._speech_tasks.discard)

    def interrupt(self) -> None:
        """Stop speaking now: synthesis cancelled, the timeline cut, queued audio dropped."""
        for task in list(self._speech_tasks):
            task.cancel()
        self._interruptions += 1
        self._timeline.clear(self._audio_pos)
        for viewer in self._viewers.values():
            viewer.audio.flush()

    async def _speak(self, text: str, language: str,
                     after: asyncio.Task[None] | None = None) -> None:
        """Synthesise sentence by sentence, scheduling each as soon as it is ready (``after``
        that speech is scheduled: appended speech keeps its order)."""
        loop = asyncio.get_running_loop()
        if after is not None and not after.done():
            await asyncio.wait([after])
        try:
            chunks = await loop.run_in_executor(
                self._executor, self._synth.synthesize_stream, text, language)
            while True:
                chunk = await loop.run_in_executor(self._executor, next, chunks, None)
                if chunk is None or self._closed:
                    return
                self._timeline.schedule(chunk, self._audio_pos + SPEECH_LEAD)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("speech synthesis failed call=%s", self.call_id)

    # --- the agent's live voice (avatar mode "as-agent") ---------------------------------

    def attach_voice(self, track: MediaStreamTrack) -> None:
        """Speak with this voice (the agent's microphone); it interrupts synthesised speech."""
        self.detach_voice()
        self._voice = LiveVoice()
        self._voice_task = asyncio.get_running_loop().create_task(
            self._pump_voice(track, self._voice), name=f"avatar-voice-{self.call_id}")

    def detach_voice(self) -> None:
        if self._voice_task is not None:
            self._voice_task.cancel()
        self._voice_task = None
        self._voice = None

    @property
    def voice_attached(self) -> bool:
        return self._voice is not None

    async def _pump_voice(self, track: MediaStreamTrack, voice: LiveVoice) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):  # (an audio track gives nothing else)
                    voice.feed(frame_to_mono(frame))
        except MediaStreamError:
            log.info("agent voice ended call=%s", self.call_id)

    @property
    def speaking(self) -> bool:
        return self._timeline.end > self._audio_pos

    # --- faults (drills and tests) ---------------------------------------------------------

    def inject_fault(self, kind: str) -> None:
        """``crash``: the render loop raises on its next frame."""
        self._fault = kind

    async def stop_as_failed(self) -> None:
        error = AvatarStopped("The avatar was stopped.")
        self.error = error
        self._on_failure(self, error)
        await self.close(error)

    # --- the two loops ------------------------------------------------------------------

    async def _audio_loop(self) -> None:
        loop = asyncio.get_running_loop()
        chunk_seconds = AUDIO_CHUNK / SAMPLE_RATE
        k = 0
        while True:
            await sleep_until(self._t0 + k * chunk_seconds)
            # Catch up after a stall instead of drifting: the clock is the truth.
            due = int((loop.time() - self._t0) / chunk_seconds)
            chunks = []
            while k <= due:
                chunks.append((self._mix(k), k * AUDIO_CHUNK))
                k += 1
                self._audio_pos = k * AUDIO_CHUNK
            if k // 250 != (k - len(chunks)) // 250:
                self._timeline.drop_before(self._audio_pos - SAMPLE_RATE)
            if not self._viewers:
                continue  # nobody listens: the clock moves on, nothing is encoded
            cut = self._interruptions
            packets = await loop.run_in_executor(self._audio_executor, self._encode_audio, chunks)
            if cut == self._interruptions:  # sound cut off while it was being encoded stays unheard
                for packet in packets:
                    for viewer in list(self._viewers.values()):
                        viewer.audio.push(packet)

    def _mix(self, k: int) -> np.ndarray:
        """Chunk ``k`` of the avatar's sound (int16): its speech, or the agent's live voice."""
        pos = k * AUDIO_CHUNK
        samples = self._timeline.read(pos, AUDIO_CHUNK)
        if self._voice is not None:
            voiced, talking = self._voice.play(k, AUDIO_CHUNK)
            if talking and self._timeline.speaking(pos):
                self.interrupt()  # the agent starts talking: the avatar's own speech stops
                samples = np.zeros(AUDIO_CHUNK, dtype=np.float32)
            samples = samples + voiced
        return (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)

    def _encode_audio(self, chunks: list[tuple[np.ndarray, int]]) -> list[Sound]:
        """Executor: each chunk encoded once, whatever the number of viewers."""
        packets = (self._audio_encoder.encode(pcm, pts) for pcm, pts in chunks)
        return [p for p in packets if p is not None]

    async def _video_loop(self) -> None:
        loop = asyncio.get_running_loop()
        fps = self.config.fps
        ticks_per_frame = 90_000 // fps
        keyframe_every = max(1, int(self.config.keyframe_interval * fps))
        n = 0
        while True:
            await self._frame_wait.until(self._t0 + n / fps)
            due = int((loop.time() - self._t0) * fps)
            if due > n:  # the previous frame took too long: skip, never queue up
                self.stats.late_frames += due - n
                if self._observer is not None:
                    self._observer.late(due - n)
                n = due
            t = n / fps
            at = int(t * SAMPLE_RATE)
            pose = self._pose(t, at)
            if self._viewers:
                watched = {v.layer for v in self._viewers.values()}
                keyframes = watched if n % keyframe_every == 0 else watched & self._keyframes_wanted
                self._keyframes_wanted -= keyframes
                encoded = await loop.run_in_executor(
                    self._executor, self._render_and_encode, pose, n * ticks_per_frame, watched,
                    keyframes)
                for viewer in list(self._viewers.values()):
                    if (frame := encoded.get(viewer.layer)) is not None:
                        viewer.video.push(frame)
            n += 1

    def _pose(self, t: float, at: int) -> FacePose:
        """The face for instant ``t`` (sample ``at``): the live voice's lips, else the timeline's."""
        lips = self._voice.lips_at(at // AUDIO_CHUNK) if self._voice is not None else None
        if lips is not None and not self._timeline.speaking(at):
            weights, stressed = lips
            speaking = weights.get(Viseme.REST, 0.0) < 0.5
            return self._motion.pose(t, speaking=speaking, visemes=weights, stressed=stressed)
        weights, stressed = self._timeline.visemes_at(at)
        return self._motion.pose(t, speaking=self._timeline.speaking(at), visemes=weights,
                                 stressed=stressed)

    def _render_and_encode(self, pose: FacePose, pts: int, watched: set[str],
                           keyframes: set[str]) -> dict[str, EncodedFrame]:
        if self._fault == "crash":
            self._fault = None
            raise RuntimeError("injected fault in the avatar render loop")
        t0 = time.perf_counter()
        rgba = self._renderer.draw(pose)
        t1 = time.perf_counter()
        encoded = self._encoder.encode(rgba, pts, watched, keyframes)
        t2 = time.perf_counter()
        self.stats.record((t1 - t0) * 1000, (t2 - t1) * 1000)
        if self._observer is not None:
            self._observer.frame((t1 - t0) * 1000, (t2 - t1) * 1000)
        return encoded
