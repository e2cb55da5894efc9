"""Prometheus metrics, in one place. Each ``Metrics`` has its own registry (tests make their own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from avatarcall.avatar.pool import WorkerInfo
    from avatarcall.avatar.wire import Load

# Seconds: from loopback (tens of ms) to the report's timeouts (30 s, 90 s).
CONNECT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 15, 30, 60, 90)
FRAME_MS_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 60, 100)
# Seconds a page buffers the avatar before playing it: tens of ms on a quiet network and server,
# up to a second when the server's sound leaves in bursts.
PLAYOUT_BUCKETS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2)

SCENARIOS = ("call_alone", "call_with_avatar", "avatar_before", "avatar_after")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connect_seconds = Histogram(
            "avatarcall_connect_seconds", "Time from a link's start to connected, seen by the browser",
            ["link"], buckets=CONNECT_BUCKETS, registry=r)
        self.first_frame_seconds = Histogram(
            "avatarcall_first_frame_seconds", "Time from a link's start to its first decoded frame",
            ["link"], buckets=CONNECT_BUCKETS, registry=r)
        self.recovery_seconds = Histogram(
            "avatarcall_recovery_seconds", "Time from reconnecting back to connected/live",
            ["link"], buckets=CONNECT_BUCKETS, registry=r)
        self.sessions = Counter(
            "avatarcall_sessions", "Finished phases per scenario and outcome (success or an error code)",
            ["scenario", "outcome"], registry=r)
        self.errors = Counter(
            "avatarcall_errors", "Errors reported by pages or raised by the server, by code",
            ["source", "code"], registry=r)
        self.render_ms = Histogram(
            "avatarcall_avatar_render_ms", "Avatar render time per frame (ms)",
            buckets=FRAME_MS_BUCKETS, registry=r)
        self.encode_ms = Histogram(
            "avatarcall_avatar_encode_ms", "Avatar encode time per frame, once for all viewers (ms)",
            buckets=FRAME_MS_BUCKETS, registry=r)
        self.avatar_playout_seconds = Histogram(
            "avatarcall_avatar_playout_delay_seconds",
            "How long pages buffer the avatar's voice before playing it (its picture is held as "
            "long, for lip sync), from their stats every 5 s", ["role"],
            buckets=PLAYOUT_BUCKETS, registry=r)
        self.late_frames = Counter(
            "avatarcall_avatar_late_frames", "Avatar frames skipped because the previous one was late",
            registry=r)
        self.telemetry_rejected = Counter(
            "avatarcall_telemetry_rejected", "Telemetry messages refused, by code", ["code"], registry=r)
        self.live_calls = Gauge("avatarcall_live_calls", "Calls connecting, connected or reconnecting",
                                registry=r)
        self.waiting_calls = Gauge("avatarcall_waiting_calls", "Customers in the queue", registry=r)
        self.avatar_sessions = Gauge("avatarcall_avatar_sessions", "Running avatar sessions", registry=r)
        self.avatar_viewers = Gauge("avatarcall_avatar_viewers", "Avatar viewer links", registry=r)

    # FrameObserver of the avatar sessions (called from executor threads; the client is thread-safe)
    def frame(self, render_ms: float, encode_ms: float) -> None:
        self.render_ms.observe(render_ms)
        self.encode_ms.observe(encode_ms)

    def late(self, frames: int) -> None:
        self.late_frames.inc(frames)

    def watch(self, sessions: Callable[[], float], viewers: Callable[[], float]) -> None:
        """Avatar gauges, read at scrape time from what runs them."""
        self.avatar_sessions.set_function(sessions)
        self.avatar_viewers.set_function(viewers)

    def calls(self, live: int, waiting: int) -> None:
        """Call gauges, set by the call flow whenever calls change."""
        self.live_calls.set(live)
        self.waiting_calls.set(waiting)

    def worker_load(self, worker: str, load: Load) -> None:
        """A worker's report: its frame costs and late frames join this server's figures."""
        for ms in load.render_ms:
            self.render_ms.observe(ms)
        for ms in load.encode_ms:
            self.encode_ms.observe(ms)
        if load.late_frames:
            self.late_frames.inc(load.late_frames)

    def watch_workers(self, workers: Callable[[], Iterable[WorkerInfo]]) -> None:
        """Per-worker gauges, read at scrape time (a worker that left has none)."""
        self.registry.register(_WorkerCollector(workers))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _WorkerCollector(Collector):
    def __init__(self, workers: Callable[[], Iterable[WorkerInfo]]) -> None:
        self._workers = workers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sessions = GaugeMetricFamily("avatarcall_worker_sessions",
                                     "Avatar sessions per worker", labels=["worker"])
        capacity = GaugeMetricFamily("avatarcall_worker_capacity", "Avatar sessions a worker "
                                     "can keep at its frame rate (measured live)",
                                     labels=["worker"])
        frame = GaugeMetricFamily("avatarcall_worker_frame_ms", "A worker's median render + "
                                  "encode time per frame (ms)", labels=["worker"])
        draining = GaugeMetricFamily("avatarcall_worker_draining", "1 while a worker drains",
                                     labels=["worker"])
        for w in self._workers():
            sessions.add_metric([w.id], w.sessions)
            capacity.add_metric([w.id], w.capacity)
            if w.frame_ms is not None:
                frame.add_metric([w.id], w.frame_ms)
            draining.add_metric([w.id], 1.0 if w.state == "draining" else 0.0)
        yield from (sessions, capacity, frame, draining)
