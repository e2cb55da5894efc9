"""``avatarcall bench avatar``: what one avatar costs, and what encoding once saves.

Everything is measured in one run, ours side by side with aiortc's default (a track added to N
peer connections is encoded N times, once by each sender's own encoder):
1. render and encode time per frame (median, p95);
2. CPU per second of one session as viewers are added, and the cost of one more viewer;
3. how many sessions (two viewers each: the customer and the agent's preview) keep 25 fps with
   no late frame, ramping up until frames are late;
4. the A/V offset at the browser (see ``avatarcall.bench.lipsync``).

Viewers here are the server side of a viewer, without the network: each one packetizes with
aiortc's own ``Vp8Encoder.pack`` / ``OpusEncoder.pack`` what the session encoded once, or, for
aiortc's default, encodes the sound with its own ``OpusEncoder``, which is what each aiortc
sender does per peer; SRTP and UDP are left out of both sides alike.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor

import av
import numpy as np
from aiortc.codecs.opus import OpusEncoder
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.mediastreams import MediaStreamError

from avatarcall.avatar.characters import base
from avatarcall.avatar.encoder import (
    AUDIO_TIME_BASE,
    VIDEO_TIME_BASE,
    EncodedFrame,
    SharedVp8Encoder,
)
from avatarcall.avatar.motion import FacePose, IdleMotion
from avatarcall.avatar.renderer import make_renderer
from avatarcall.avatar.session import AvatarSession, SessionConfig
from avatarcall.avatar.speech import EspeakSynthesizer
from avatarcall.avatar.tracks import Sound
from avatarcall.avatar.visemes import VISEMES, one_hot
from avatarcall.bench import lipsync, processes
from avatarcall.bench.stats import median, p95

STEP_SECONDS = 6.0
LATE_SHARE = 0.01  # ramps go on while at most this share of frames is late
VIEWERS = (1, 2, 4, 8)
TEXT = ("Bonjour et bienvenue. Un conseiller va vous répondre dans un instant. "
        "Merci de votre patience, nous faisons au plus vite. ") * 3


class PerViewerSession(AvatarSession):
    """aiortc's default, for comparison: the frame is rendered once, then encoded by one
    encoder per viewer (as N senders sharing a raw track would)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._per_viewer: dict[str, Vp8Encoder] = {}

    def _render_and_encode(self, pose: FacePose, pts: int, watched: set[str],
                           keyframes: set[str]) -> dict[str, EncodedFrame]:
        keyframe = bool(keyframes)
        t0 = time.perf_counter()
        rgba = self._renderer.draw(pose)
        t1 = time.perf_counter()
        frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        first = None
        for viewer_id in list(self._viewers):
            encoder = self._per_viewer.setdefault(viewer_id, Vp8Encoder())
            payloads, _ = encoder.encode(frame, keyframe)
            if first is None:
                first = payloads
        t2 = time.perf_counter()
        self.stats.record((t1 - t0) * 1000, (t2 - t1) * 1000)
        if first is None:
            return {}
        # Keep the pipeline flowing with one shared packet; the cost above is what we measure.
        return dict.fromkeys(watched, _packet(first, pts, keyframe))

    def _encode_audio(self, chunks: list[tuple[np.ndarray, int]]) -> list[Sound]:
        """Raw sound to every viewer: each one's sender encodes it (in ``_drain``)."""
        frames: list[Sound] = []
        for pcm, pts in chunks:
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48_000, pts, AUDIO_TIME_BASE
            frames.append(frame)
        return frames


def _packet(payloads: list[bytes], pts: int, keyframe: bool) -> EncodedFrame:
    packet = av.Packet(b"".join(payloads))
    packet.pts, packet.time_base = pts, VIDEO_TIME_BASE
    return EncodedFrame(packet, keyframe)


async def _drain(session: AvatarSession, viewer_id: str) -> None:
    """The per-peer work of an aiortc sender: packetize video, encode audio."""
    viewer = session.add_viewer(viewer_id, audience=True)
    session.viewer_connected(viewer)
    vp8, opus = Vp8Encoder(), OpusEncoder()

    async def video() -> None:
        while True:
            vp8.pack(await viewer.video.recv())

    async def audio() -> None:
        while True:
            sound = await viewer.audio.recv()
            if isinstance(sound, av.AudioFrame):
                opus.encode(sound)
            else:
                opus.pack(sound)

    try:
        await asyncio.gather(video(), audio())
    except MediaStreamError:
        pass


async def _run_sessions(kind: type[AvatarSession], sessions: int, viewers: int, seconds: float,
                        executor: ThreadPoolExecutor) -> tuple[float, int, int]:
    """(CPU seconds per wall second, late frames, frames) for ``sessions`` x ``viewers``."""
    synth = EspeakSynthesizer()
    running = [kind(f"bench{i}", 1, "fr", synth, executor, SessionConfig(), lambda s, e: None)
               for i in range(sessions)]
    drains = []
    for session in running:
        session.start()
        drains += [asyncio.create_task(_drain(session, f"v{j}")) for j in range(viewers)]
        session.say(TEXT)
    await asyncio.sleep(1.0)  # warm up: encoders created, speech scheduled
    late0 = sum(s.stats.late_frames for s in running)
    frames0 = sum(s.stats.frames for s in running)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    late = sum(s.stats.late_frames for s in running) - late0
    frames = sum(s.stats.frames for s in running) - frames0
    for session in running:
        await session.close()
    for task in drains:
        task.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    return cpu, late, frames


class TodaysVp8Encoder(SharedVp8Encoder):
    """The encoder as it was before the workers issue (2026-12-02), for comparison: aiortc's
    camera tuning (cpu-used 6, denoiser on, static-thresh 1) and a new colour converter every
    frame."""

    def __init__(self) -> None:
        super().__init__(512, 512, 800_000)
        self._codec.options = {**self._codec.options, "cpu-used": "-6",
                               "noise-sensitivity": "4", "static-thresh": "1"}

    def encode(self, rgba: np.ndarray, pts: int, keyframe: bool) -> EncodedFrame | None:
        frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")
        frame.pts, frame.time_base = pts, VIDEO_TIME_BASE
        if keyframe:
            frame.pict_type = av.video.frame.PictureType.I
        packets = self._codec.encode(frame)
        return _packet([bytes(p) for p in packets], pts, keyframe) if packets else None


def _luma(rgba: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuv420p")
    return frame.to_ndarray()[:rgba.shape[0]].astype(np.float64)


def _psnr(decoded: av.VideoFrame, source: np.ndarray) -> float:
    mse = float(((decoded.to_ndarray()[:source.shape[0]] - source) ** 2).mean())
    return 10 * float(np.log10(255 ** 2 / max(mse, 1e-9)))


def _forget_paints() -> None:
    """Colours, paints and shaders made again, as every frame made them before 2026-12-03."""
    for made in (base.color, base.fill, base.stroke, base.blurred, base._soft_paint):
        made.cache_clear()


def _frame_costs(frames: int = 300) -> dict[str, list[float]]:
    """Per frame, ours and as of 2026-12-02 side by side (alternated, so both see the same
    machine): render, encode (with its colour conversion), and aiortc's per-viewer encoder;
    and the picture quality of each (Y PSNR of the decoded frame against the drawn one).
    The frame of 2026-12-02 is drawn as it was then (paints made for every frame, the frame
    copied out of the renderer) and encoded by that day's encoder."""
    renderer = make_renderer("ava", 512)
    motion = IdleMotion(seed=7)
    ours, today, theirs = SharedVp8Encoder(512, 512, 800_000), TodaysVp8Encoder(), Vp8Encoder()
    decoders = {key: av.CodecContext.create("libvpx", "r") for key in ("ours", "today")}
    costs: dict[str, list[float]] = {key: [] for key in (
        "render", "encode", "render today", "encode today", "aiortc", "psnr", "psnr today")}
    for n in range(frames):
        pose = motion.pose(n / 25, speaking=True,
                           visemes=one_hot(VISEMES[(n // 3) % len(VISEMES)]))
        keyframe = n % 50 == 0
        t1 = time.perf_counter()
        exact = renderer.draw(pose)  # as the session does: encoded before the next is drawn
        t2 = time.perf_counter()
        encoded = ours.encode(exact, n * 3600, keyframe)
        t3 = time.perf_counter()
        _forget_paints()
        t3a = time.perf_counter()
        drawn_today = renderer.render(pose)
        t3b = time.perf_counter()
        encoded_today = today.encode(drawn_today, n * 3600, keyframe)
        t4 = time.perf_counter()
        frame = av.VideoFrame.from_ndarray(exact, format="rgba")
        frame.pts, frame.time_base = n * 3600, VIDEO_TIME_BASE
        theirs.encode(frame, keyframe)
        t5 = time.perf_counter()
        for key, value in (("render", t2 - t1), ("encode", t3 - t2), ("render today", t3b - t3a),
                           ("encode today", t4 - t3b), ("aiortc", t5 - t4)):
            costs[key].append(value * 1000)
        source = _luma(exact)
        for key, packet, decoder in (("psnr", encoded, decoders["ours"]),
                                     ("psnr today", encoded_today, decoders["today"])):
            if packet is not None:
                costs[key] += [_psnr(f, source) for f in decoder.decode(packet.packet)]
    return {key: values[10:] for key, values in costs.items()}


async def _ramp(kind: type[AvatarSession], executor: ThreadPoolExecutor, limit: int) -> list[tuple[int, int, int]]:
    """Sessions of two viewers each, one more per step, until frames are late."""
    steps = []
    for n in range(1, limit + 1):
        _, late, frames = await _run_sessions(kind, n, 2, STEP_SECONDS, executor)
        steps.append((n, late, frames))
        print(f"    {kind.__name__:<16} {n} session(s): {late} late of {frames + late} frames", flush=True)
        if late > LATE_SHARE * (frames + late):
            break
    return steps


async def _main(max_sessions: int) -> None:
    workers = os.cpu_count() or 2
    print(f"\navatarcall bench avatar  (512x512, 25 fps, VP8 800 kbps, character Ava, "
          f"{workers} cores, executor of {workers} threads)\n")
    costs = _frame_costs()
    print("Per frame                                          median      p95")
    costs["render + encode"] = [r + e for r, e in zip(costs["render"], costs["encode"])]
    costs["render + encode today"] = [r + e for r, e in zip(costs["render today"],
                                                             costs["encode today"])]
    for key, label in (("render", "render (Skia), ours"),
                       ("render today", "render, as of 2026-12-02"),
                       ("encode", "encode once per session, ours"),
                       ("encode today", "encode, as of 2026-12-02"),
                       ("render + encode", "render + encode, ours"),
                       ("render + encode today", "render + encode as of 2026-12-02"),
                       ("aiortc", "encode, aiortc Vp8Encoder (per viewer)")):
        print(f"  {label:<48} {median(costs[key]):6.2f} ms {p95(costs[key]):6.2f} ms")
    then, now = median(costs["render + encode today"]), median(costs["render + encode"])
    if then and now:
        print(f"  a frame costs {then / now:.2f}x less than on 2026-12-02")
    print(f"\nPicture quality (Y PSNR of the decoded frame against the drawn one, 800 kbps)"
          f"\n  ours {median(costs['psnr']):.1f} dB (p5 "
          f"{sorted(costs['psnr'])[len(costs['psnr']) // 20]:.1f})    as of 2026-12-02 "
          f"{median(costs['psnr today']):.1f} dB (p5 "
          f"{sorted(costs['psnr today'])[len(costs['psnr today']) // 20]:.1f})")

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench")
    await _run_sessions(AvatarSession, 1, 1, 2.0, executor)  # warm-up (fonts, codecs), not counted
    print("\nCPU of one session (cores busy), by number of viewers")
    header = "  viewers                                  " + "".join(f"{v:>8}" for v in VIEWERS)
    print(header)
    per: dict[str, list[float]] = {}
    for kind, label in ((AvatarSession, "ours: encode once, fan out"),
                        (PerViewerSession, "aiortc default: encode per viewer")):
        per[label] = []
        for viewers in VIEWERS:
            cpu, _, _ = await _run_sessions(kind, 1, viewers, STEP_SECONDS, executor)
            per[label].append(cpu)
        print(f"  {label:<40} " + "".join(f"{100 * c:7.0f}%" for c in per[label]))
    for label, values in per.items():
        extra = float(np.polyfit(VIEWERS, values, 1)[0]) * 1000  # slope of CPU over viewers
        print(f"  one more viewer, {label:<32} {extra:6.1f} ms CPU per second")

    print(f"\nSessions kept at 25 fps (2 viewers each, {STEP_SECONDS:.0f} s a step; a frame "
          "later than its time is skipped, never queued)")
    executor.shutdown()
    in_workers = await asyncio.to_thread(processes.ramp, workers, max_sessions, STEP_SECONDS)
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench")
    ours = await _ramp(AvatarSession, executor, max_sessions)
    theirs = await _ramp(PerViewerSession, executor, max_sessions)
    executor.shutdown()

    def kept(steps: list[tuple[int, int, int]], share: float = 0.0) -> int:
        """The most sessions such that every step up to it met ``share`` (a step that met it
        after one that did not is luck, not capacity)."""
        count = 0
        for n, late, frames in steps:
            if late > share * (frames + late):
                break
            count = n
        return count

    for share, what in ((0.0, "no late frame"), (LATE_SHARE, f"<= {LATE_SHARE:.0%} late")):
        print(f"  {what:<15} avatar workers ({workers} processes): {kept(in_workers, share)}"
              f"    in the server's process: {kept(ours, share)}    aiortc default "
              f"(in process): {kept(theirs, share)}")



def run(max_sessions: int = 24, lipsync_runs: int = 3) -> int:
    asyncio.run(_main(max_sessions))
    results = lipsync.measure(lipsync_runs)
    if results is None:
        print("\nA/V offset at the browser: skipped (Playwright is not installed)")
    else:
        lipsync.print_offsets(results)
    return 0
