"""Rate limits. Pure; time is injected.

- :class:`TokenBucket`: ``rate`` per second, bursts up to ``burst`` (signaling messages).
- :class:`AttemptLimiter`: at most ``limit`` attempts per key in a sliding ``window`` (failed
  sign-ins, calls started by the customer page).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self, cost: float = 1.0) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True


class AttemptLimiter:
    """Attempts per key (a name, an address) in the last ``window`` seconds. Memory is bounded:
    past ``max_keys`` keys the least recently seen ones are forgotten."""

    def __init__(self, limit: int = 5, window: float = 60.0, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        horizon = self._clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, *keys: str) -> int | None:
        """Whole seconds until any of ``keys`` may try again, or None if all may try now."""
        wait = 0.0
        for key in keys:
            times = self._recent(key)
            if times is not None and len(times) >= self.limit:
                wait = max(wait, times[-self.limit] + self.window - self._clock())
        return max(1, math.ceil(wait)) if wait > 0 else None

    def record(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            times = self._recent(key) or deque(maxlen=self.limit)
            times.append(now)
            self._failures[key] = times
            self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def forgive(self, key: str) -> None:
        """Take back the latest attempt of ``key`` (one counted ahead that succeeded)."""
        times = self._recent(key)
        if times:
            times.pop()
            if not times:
                del self._failures[key]

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
