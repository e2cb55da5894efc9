"""What a network does to packets, one direction at a time: a rate with a bounded queue, a delay
with jitter, random loss. The network lab (``netlab``) applies it in user space, because this
kernel has ``tc tbf`` but no ``netem``.

A :class:`Shaper` only decides: when a packet of ``size`` bytes sent at ``now`` arrives, or that
it is lost (dropped at random, or because the queue ahead of the link already holds more than
``queue`` seconds of sending). Packets keep their order, as on one path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

ORDER_S = 1e-6


@dataclass(frozen=True)
class Direction:
    rate_bps: float | None = None  # None: as fast as loopback
    delay_s: float = 0.0  # one way
    jitter_s: float = 0.0  # added at random, 0..jitter
    loss: float = 0.0  # share of packets lost at random
    # Sending time the link buffers before it drops: a mobile network's deep queues.
    queue_s: float = 1.0


@dataclass(frozen=True)
class Profile:
    name: str
    up: Direction  # from the person's machine
    down: Direction  # to it

    @staticmethod
    def symmetric(name: str, **direction: float | None) -> Profile:
        return Profile(name, Direction(**direction), Direction(**direction))  # type: ignore[arg-type]


# The profiles (#17); round trips are split evenly between the two directions.
PROFILES = {
    "good": Profile.symmetric("good"),
    "4g": Profile.symmetric("4g", rate_bps=8_000_000, delay_s=0.030, jitter_s=0.005, loss=0.01),
    "poor": Profile.symmetric("poor", rate_bps=300_000, delay_s=0.100, jitter_s=0.010, loss=0.05),
}


class Shaper:
    def __init__(self, direction: Direction, seed: int = 17) -> None:
        self.direction = direction
        self._random = random.Random(seed)
        self._link_free_at = 0.0  # when the link has sent what it holds
        self._last_arrival = 0.0  # packets keep their order
        self.sent = self.lost = 0  # packets handed over, and lost of them
        self.bytes = 0  # handed over

    def arrival(self, now: float, size: int, reliable: bool = False) -> float | None:
        """When a packet of ``size`` bytes handed over at ``now`` arrives; None if it is lost.
        ``reliable``: a stream's bytes (TCP resends what the link loses: they arrive, late)."""
        d = self.direction
        self.sent += 1
        self.bytes += size
        start = max(now, self._link_free_at)
        if d.rate_bps is not None and start - now > d.queue_s and not reliable:
            self.lost += 1  # the queue is full: dropped at its tail
            return None
        if d.rate_bps is not None:
            self._link_free_at = start + size * 8 / d.rate_bps
        else:
            self._link_free_at = start
        if d.loss and not reliable and self._random.random() < d.loss:
            self.lost += 1  # lost on the way, after taking its share of the link
            return None
        arrival = self._link_free_at + d.delay_s + self._random.uniform(0.0, d.jitter_s)
        # Strictly later than the one before: timers due at the same instant may fire in any
        # order, and a browser takes a packet out of order for a lost one (NACK).
        self._last_arrival = max(arrival, self._last_arrival + ORDER_S)
        return self._last_arrival
