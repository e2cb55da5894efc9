"""A real coturn on 127.0.0.1 for tests and benchmarks: start, stop, freeze, restart in place.

``start_coturn(tmp_dir, secret)`` writes a configuration with
``avatarcall.ice.render_config`` (loopback peers allowed, which only a test may
do), runs ``turnserver -c FILE`` in the foreground as a child process (no
daemon, no root), and returns once coturn answers a STUN binding request.
Everything it writes (config, log, pid file, coturn's SQLite file) stays in
``tmp_dir``. The blocking calls (``start``, ``stop``) take a fraction of a
second; from async code, run them with ``asyncio.to_thread``.

Fault drills:
- ``pause()`` / ``resume()`` freeze and thaw the process (SIGSTOP/SIGCONT):
  packets go unanswered, allocations survive — a network blackout.
- ``stop()`` then ``start()`` kills coturn and brings it back on the same
  port with the same secret: allocations are lost — a crash and restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from avatarcall.ice.coturn import MAX_ALLOCATE_LIFETIME, render_config

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
REALM = "avatarcall.test"
_RELAY_PORTS = 400  # a range of its own per instance, below Linux's ephemeral ports; allocations
# made during an outage stay 10 min: a bench breaking a call 18 times used 40 up (508)
_STUN_MAGIC_COOKIE = 0x2112A442


def free_port() -> int:
    """A port on 127.0.0.1 free for both UDP and TCP when asked (coturn listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port on 127.0.0.1 is free for both UDP and TCP")


def _threads_stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` is in the stopped state (Linux ``/proc``)."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        except (FileNotFoundError, IndexError):
            continue
    return bool(states) and all(state in ("T", "t") for state in states)


def stun_binding_answered(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    """Whether a STUN Binding request (RFC 8489) to ``host:port`` over UDP gets a success answer."""
    transaction = os.urandom(12)
    request = (0x0001).to_bytes(2, "big") + (0).to_bytes(2, "big") \
        + _STUN_MAGIC_COOKIE.to_bytes(4, "big") + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(request, (host, port))
            data = sock.recv(2048)
        except OSError:  # timeout, or ICMP port unreachable surfacing as ConnectionRefusedError
            return False
    return len(data) >= 20 and data[0:2] == b"\x01\x01" and data[8:20] == transaction


@dataclass
class Coturn:
    """A coturn child process listening on ``127.0.0.1:port`` (UDP and TCP)."""

    port: int
    secret: str = field(repr=False)
    realm: str
    directory: Path
    binary: str
    tls_port: int | None = None
    """Where ``turns:`` listens, when started with a certificate."""
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _paused: bool = field(default=False, repr=False)

    @property
    def host(self) -> str:
        return HOST

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    @property
    def url(self) -> str:
        return f"turn:{HOST}:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:{HOST}:{self.port}?transport=tcp"

    @property
    def tls_url(self) -> str:
        if self.tls_port is None:
            raise RuntimeError("this coturn was started without a certificate")
        return f"turns:{HOST}:{self.tls_port}?transport=tcp"

    @property
    def config_path(self) -> Path:
        return self.directory / "turnserver.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "turnserver.log"

    @property
    def pid_path(self) -> Path:
        return self.directory / "turnserver.pid"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self, timeout: float = 10.0) -> None:
        """Run coturn (again, on the same ports); return once it answers STUN, takes TCP and
        allocates for a credential of its secret."""
        if self.running:
            raise RuntimeError(f"coturn on port {self.port} is already running")
        with self.log_path.open("ab") as out:
            self._process = subprocess.Popen(
                [self.binary, "-c", str(self.config_path)],
                cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C meant for pytest is not delivered to it too
            )
        self._paused = False
        deadline = time.monotonic() + timeout
        while not (self._answering() and self._allocates()):
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"coturn exited with {self._process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"coturn did not answer on port {self.port}:\n{self.log_tail()}")
        log.info("coturn %s ready on %s:%d", self._process.pid, HOST, self.port)

    def _allocates(self) -> bool:
        """Whether a minted credential gets an allocation. Right after a start coturn may refuse
        one: its auth threads open their SQLite user database at once and one of them can find
        it locked ("Cannot find credentials"), seen on a busy machine."""
        from avatarcall.ice import mint

        async def allocate() -> bool:
            from aioice.turn import create_turn_endpoint

            credential = mint(self.secret, "avatarcall-ready", 60, now=time.time())
            try:
                transport, _ = await asyncio.wait_for(create_turn_endpoint(
                    asyncio.DatagramProtocol, self.address, credential.username,
                    credential.password), 2)
            except Exception:  # noqa: BLE001 - 401, a timeout: not ready yet
                return False
            transport.close()
            return True

        with ThreadPoolExecutor(1) as thread:  # a test's own event loop may be running here
            return thread.submit(asyncio.run, allocate()).result()

    def _answering(self) -> bool:
        # UDP and each TCP listener open one by one: wait for all of them.
        if not stun_binding_answered(self.port):
            return False
        for port in (self.port, self.tls_port):
            if port is not None:
                try:
                    socket.create_connection((HOST, port), timeout=0.2).close()
                except OSError:
                    return False
        return True

    def stop(self) -> None:
        """End coturn; may be called twice, and works while it is paused."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            self._paused = False
            return
        if self._paused:
            process.send_signal(signal.SIGCONT)  # a stopped process holds SIGTERM until continued
            self._paused = False
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("coturn %s on port %d stopped", process.pid, self.port)

    def pause(self) -> None:
        """Freeze coturn (SIGSTOP): nothing is answered or relayed until ``resume()``."""
        if not self.running or self._process is None:
            raise RuntimeError("coturn is not running")
        self._process.send_signal(signal.SIGSTOP)
        self._paused = True
        # SIGSTOP reaches coturn's threads one by one; a packet sent right now could
        # still be answered, so return only once every thread has stopped.
        self._wait_threads(self._process.pid, stopped=True)

    def resume(self) -> None:
        """Thaw a paused coturn (SIGCONT); its allocations are still there."""
        if not self.running or self._process is None:
            raise RuntimeError("coturn is not running")
        self._process.send_signal(signal.SIGCONT)
        self._paused = False
        self._wait_threads(self._process.pid, stopped=False)

    @staticmethod
    def _wait_threads(pid: int, stopped: bool, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while _threads_stopped(pid) != stopped:
            if time.monotonic() > deadline:
                state = "stop" if stopped else "continue"
                raise RuntimeError(f"coturn {pid}'s threads did not all {state}")
            time.sleep(0.005)

    def restart(self, timeout: float = 10.0) -> None:
        """``stop()`` then ``start()`` on the same port: allocations are lost, credentials hold."""
        self.stop()
        self.start(timeout)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_coturn(tmp_dir: Path, secret: str, port: int | None = None, *, realm: str = REALM,
                 allow_loopback_peers: bool = True, cert: Path | None = None,
                 pkey: Path | None = None, verbose: bool = False,
                 max_allocate_lifetime: int = MAX_ALLOCATE_LIFETIME) -> Coturn:
    """Write a test configuration into ``tmp_dir``; run coturn on ``127.0.0.1:port`` (free if None).

    A short ``max_allocate_lifetime`` (seconds) lets a test see a call outlive its
    allocations. ``allow_loopback_peers=False`` gives the production peer rules, under which
    relaying to anything on 127.0.0.1 is refused (403 Forbidden IP). With ``cert``
    and ``pkey`` (PEM files) it also listens for ``turns:`` on a free port (``tls_url``).
    """
    binary = shutil.which("turnserver") or "/usr/sbin/turnserver"
    if not Path(binary).exists():
        raise RuntimeError("turnserver (coturn) is not installed")
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    relay_min = random.randrange(20_000, 30_000 - _RELAY_PORTS)
    tls_port = None
    if cert is not None or pkey is not None:
        tls_port = port
        while tls_port == port:
            tls_port = free_port()
    coturn = Coturn(port=port, secret=secret, realm=realm, directory=tmp_dir, binary=binary,
                    tls_port=tls_port)
    coturn.config_path.write_text(render_config(
        realm, secret, HOST, port=port, tls_port=tls_port, cert=cert, pkey=pkey,
        relay_min_port=relay_min, relay_max_port=relay_min + _RELAY_PORTS - 1,
        allow_loopback_peers=allow_loopback_peers,  # tests only: both peers live on 127.0.0.1
        pidfile=coturn.pid_path, userdb=tmp_dir / "turndb", verbose=verbose,
        max_allocate_lifetime=max_allocate_lifetime,
    ))
    coturn.config_path.chmod(0o600)  # it holds the secret
    coturn.start()
    return coturn
