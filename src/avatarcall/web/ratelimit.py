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


class SignInGuard:
    """Failed sign-ins slow a guesser down without handing them a way to lock agents out.

    - per account and address: ``per_pair`` failures in ``window``, then that address waits for
      that account (a guesser at one address);
    - per address: ``per_address`` failures over every account (one address spraying names), set
      high enough that a whole team behind one NAT never meets it;
    - per account: past ``alarm`` failures in ``window`` from anywhere (many addresses guessing
      one account), each address gets one try at that account instead of ``per_pair``.

    An agent signing in from an address that has not failed for their account always gets a
    try: nobody else's failures lock them out.
    """

    def __init__(self, per_pair: int = 5, per_address: int = 50, alarm: int = 20,
                 window: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._pairs = AttemptLimiter(per_pair, window, clock=clock)
        self._pairs_alarmed = AttemptLimiter(1, window, clock=clock)
        self._addresses = AttemptLimiter(per_address, window, clock=clock)
        self._accounts = AttemptLimiter(alarm, window, clock=clock)

    @staticmethod
    def _pair(name: str, address: str) -> str:
        return f"{name}\0{address}"

    def retry_after(self, name: str, address: str) -> int | None:
        """Whole seconds before this name may be tried from this address, or None."""
        pair = self._pair(name, address)
        waits = [self._pairs.retry_after(pair), self._addresses.retry_after(address)]
        if self._accounts.retry_after(name) is not None:  # the account is being guessed at
            waits.append(self._pairs_alarmed.retry_after(pair))
        found = [w for w in waits if w is not None]
        return max(found) if found else None

    def attempt(self, name: str, address: str) -> None:
        """Count an attempt as failed before checking it (slow): a burst of parallel guesses
        gets no more tries. :meth:`succeeded` takes it back."""
        pair = self._pair(name, address)
        self._pairs.record(pair)
        self._pairs_alarmed.record(pair)
        self._addresses.record(address)
        self._accounts.record(name)

    def succeeded(self, name: str, address: str) -> None:
        pair = self._pair(name, address)
        self._pairs.reset(pair)
        self._pairs_alarmed.reset(pair)
        self._addresses.forgive(address)
        self._accounts.forgive(name)
