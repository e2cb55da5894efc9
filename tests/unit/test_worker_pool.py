"""The worker pool in-process, with workers that answer from a script: placement by free
capacity, leases fenced by epochs, a lost worker's sessions reported for a restart elsewhere,
draining, the static cap, and a silent worker let go."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from avatarcall.avatar.control import AvatarFailed, SlotFreed, ViewerLinkChanged
from avatarcall.avatar.pool import MOVED, WORKER_LOST, WorkerPool
from avatarcall.avatar.wire import Command, Event, Hello, Load, Reply, WireError
from avatarcall.errors import AvatarBusy, AvatarUnavailable


class ScriptedWorker:
    """A worker's socket whose worker answers every command at once (or fails it)."""

    def __init__(self, pool: WorkerPool, name: str, capacity: int) -> None:
        self.pool = pool
        self.name = name
        self.hello = Hello(worker=name, pid=1000 + len(name), host="test", capacity=capacity)
        self.commands: list[Command] = []
        self.fail_next: str | None = None
        self.closed = False
        self.gone = False  # its process died; the pool has not heard yet

    async def send(self, text: str) -> None:
        if self.gone:
            raise ConnectionError("socket closed")
        command = Command.model_validate_json(text)
        self.commands.append(command)
        if self.fail_next:
            reply = Reply(id=command.id, error=WireError(
                code=self.fail_next, message="no", retryable=self.fail_next != "internal"))
            self.fail_next = None
        else:
            reply = Reply(id=command.id, epoch=command.epoch,
                          sdp=f"v=0 {self.name}" if command.op == "answer" else None)
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self.pool.received(self.name, reply)))

    async def close(self) -> None:
        self.closed = True

    def ops(self, op: str) -> list[Command]:
        return [c for c in self.commands if c.op == op]


def _drain(pool: WorkerPool) -> list[object]:
    events = []
    while not pool._events.empty():
        events.append(pool._events.get_nowait())
    return events


def _pool(*capacities: int, max_sessions: int = 0) -> tuple[WorkerPool, list[ScriptedWorker]]:
    pool = WorkerPool(list, max_sessions=max_sessions)
    workers = [ScriptedWorker(pool, f"w{i}", c) for i, c in enumerate(capacities)]
    for w in workers:
        assert pool.join(w.hello, w, local=True)
    _drain(pool)
    return pool, workers


async def test_sessions_go_where_there_is_room_weighted_by_free_capacity() -> None:
    pool, (small, big) = _pool(1, 30)
    placed: Counter[str] = Counter()
    for i in range(20):
        await pool.start(f"call{i}", "fr")
    for w in (small, big):
        placed[w.name] = len(w.ops("start"))
    assert sum(placed.values()) == 20 and placed["w0"] <= 1
    assert pool.load().sessions == 20
    health = {w.id: w for w in pool.workers()}
    assert health["w0"].sessions + health["w1"].sessions == 20 and health["w0"].pid == 1002
    await pool.close()


async def test_when_every_worker_is_full_starts_are_busy() -> None:
    pool, _ = _pool(1, 1)
    epoch = await pool.start("a", "fr")
    await pool.start("b", "fr")
    with pytest.raises(AvatarBusy):
        await pool.start("c", "fr")
    _drain(pool)
    await pool.stop("a")
    assert _drain(pool) == [SlotFreed("a", epoch)]  # the line is served
    await pool.start("c", "fr")  # a's seat
    await pool.close()


async def test_the_static_cap_is_an_upper_bound() -> None:
    pool, _ = _pool(10, 10, max_sessions=3)
    for key in "abc":
        await pool.start(key, "en")
    with pytest.raises(AvatarBusy):
        await pool.start("d", "en")
    assert pool.load().capacity == 3
    await pool.close()


async def test_epochs_are_the_pools_and_fence_stale_answers_and_events() -> None:
    pool, (worker,) = _pool(5)
    first = await pool.start("call", "fr")
    second = await pool.start("call", "fr")  # a restart: a new lease, a new epoch
    assert second > first and [c.epoch for c in worker.ops("start")] == [first, second]
    assert [c.key for c in worker.ops("stop")] == ["call"]  # the old session was stopped
    with pytest.raises(AvatarUnavailable):
        await pool.answer("call", first, "customer", "v=0", audience=True)
    assert await pool.answer("call", second, "customer", "v=0", audience=True) == "v=0 w0"
    _drain(pool)
    await pool.received("w0", Event(kind="failed", key="call", epoch=first, code="avatar_crashed"))
    assert _drain(pool) == []  # the old epoch's failure changes nothing
    await pool.received("w0", Event(kind="link", key="call", epoch=second, viewer="customer",
                                    state="connected"))
    await pool.received("w0", Event(kind="failed", key="call", epoch=second,
                                    code="avatar_crashed", message="boom"))
    events = _drain(pool)
    assert events == [ViewerLinkChanged("call", second, "customer", "connected"),
                      AvatarFailed("call", second, "avatar_crashed", "boom", True),
                      SlotFreed("call", second)]
    with pytest.raises(AvatarUnavailable):
        await pool.say("call", "still there?")
    await pool.close()


async def test_a_lost_worker_loses_its_leases_for_a_restart_elsewhere() -> None:
    pool, (a, b) = _pool(5, 12)
    for i in range(6):
        await pool.start(f"call{i}", "fr")
    on_a = {c.key for c in a.ops("start")}
    _drain(pool)
    await pool.leave("w0", a)
    events = _drain(pool)
    failed = [e for e in events if isinstance(e, AvatarFailed)]
    assert {e.key for e in failed} == on_a and {e.code for e in failed} <= {WORKER_LOST}
    assert pool.load().sessions == 6 - len(on_a)
    assert [w.id for w in pool.workers()] == ["w1"]
    for key in on_a:  # the director starts them again: they land on the worker left
        await pool.start(key, "fr")
    assert len(b.ops("start")) == 6
    await pool.close()


async def test_a_newer_socket_of_a_worker_is_not_removed_by_the_older_one_closing() -> None:
    pool, (a,) = _pool(5)
    await pool.leave("w0", object())  # type: ignore[arg-type]  # some other socket
    assert [w.id for w in pool.workers()] == ["w0"]
    assert not pool.join(a.hello, a, local=True)  # the same id twice: refused
    await pool.close()


async def test_a_draining_worker_takes_nothing_new_and_its_sessions_move() -> None:
    pool, (a, b) = _pool(5, 5)
    for i in range(4):
        await pool.start(f"call{i}", "fr")
    on_a = {c.key for c in a.ops("start")}
    _drain(pool)
    await pool.received("w0", Load(sessions=len(on_a), viewers=0, capacity=0, draining=True))
    await asyncio.sleep(0.01)
    moved = [e for e in _drain(pool) if isinstance(e, AvatarFailed)]
    assert {e.key for e in moved} == on_a and {e.code for e in moved} <= {MOVED}
    assert {c.key for c in a.ops("stop")} == on_a
    await pool.start("new", "fr")
    assert b.ops("start")[-1].key == "new"
    assert {w.id: w.state for w in pool.workers()} == {"w0": "draining", "w1": "ready"}
    await pool.close()


async def test_a_worker_failing_a_start_leaves_no_lease() -> None:
    pool, (a,) = _pool(5)
    a.fail_next = "internal"
    with pytest.raises(Exception) as info:
        await pool.start("call", "fr")
    assert getattr(info.value, "code", None) == "internal"
    assert pool.load().sessions == 0
    await pool.close()


async def test_more_room_serves_the_line() -> None:
    pool, _ = _pool(1)
    extra = ScriptedWorker(pool, "w9", 2)
    pool.join(extra.hello, extra, local=False)
    assert SlotFreed("", 0) in _drain(pool)
    await pool.received("w0", Load(sessions=0, viewers=0, capacity=4))
    assert SlotFreed("", 0) in _drain(pool)
    assert {w.id: w.pid for w in pool.workers()}["w9"] is None  # a remote one: no pid here
    await pool.close()


async def test_a_silent_worker_is_let_go() -> None:
    now = [0.0]
    pool = WorkerPool(list, clock=lambda: now[0])
    worker = ScriptedWorker(pool, "w0", 3)
    pool.join(worker.hello, worker, local=True)
    await pool.start("call", "fr")
    _drain(pool)
    now[0] = 10.0  # three heartbeats and more without a word
    await asyncio.sleep(1.2)  # the watchdog's round
    assert worker.closed and pool.workers() == []
    assert any(isinstance(e, AvatarFailed) and e.code == WORKER_LOST for e in _drain(pool))
    await pool.close()


async def test_a_start_goes_to_another_worker_when_one_cannot() -> None:
    pool, (a, b) = _pool(5, 5)
    for w in (a, b):
        w.fail_next = "avatar_unavailable"  # draining, or gone mid-command
    with pytest.raises(AvatarBusy):
        await pool.start("call", "fr")  # both refused: busy, and nothing is leased
    assert pool.load().sessions == 0
    a.fail_next = "avatar_unavailable"
    await pool.start("call", "fr")  # a refuses, b takes it
    assert pool.workers()[1].sessions + pool.workers()[0].sessions == 1
    await pool.close()


async def test_a_start_on_a_worker_whose_socket_just_closed_goes_to_another() -> None:
    # Every worker killed at once: the first one's sessions start again while the second one's
    # socket is already closed and its leaving not yet handled.
    pool, (a, b) = _pool(10, 10)
    a.gone = True
    for i in range(6):  # wherever the weighted choice lands first
        await pool.start(f"call{i}", "fr")
    assert {w.id: w.sessions for w in pool.workers()} == {"w0": 0, "w1": 6}
    b.gone = True
    with pytest.raises(AvatarBusy):
        await pool.start("call9", "fr")  # no worker left to ask: busy, nothing leased
    assert pool.load().sessions == 6
    await pool.close()


def test_capacity_counts_what_the_rendering_uses() -> None:
    from avatarcall.avatar.capacity import CapacityMeter

    now = [100.0]
    meter = CapacityMeter(fps=25, minimum=1, clock=lambda: now[0])
    meter.calibrated_ms = 5.0
    assert meter.capacity(0) == 6  # 0.85 of a core / (25 x 5 ms x 1.12)
    for _ in range(100):  # frames measured while sessions run replace the calibration
        meter.frame(6.0, 4.0)
    assert meter.frame_ms() == 10.0 and meter.capacity(2) == 3
    meter.late(3)
    assert meter.capacity(2) == 2  # late frames: nothing new for a while
    now[0] += 4
    assert meter.capacity(2) == 3
    assert CapacityMeter(fps=25, minimum=6).capacity(0) == 6  # the floor an operator sets
    render, encode, late = meter.take_samples()
    assert len(render) == len(encode) == 100 and late == 3
    assert meter.take_samples() == ([], [], 0)
