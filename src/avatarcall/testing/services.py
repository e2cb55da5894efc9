"""Real PostgreSQL, Redis and HAProxy servers on 127.0.0.1 for tests and benchmarks, from Debian's
packages, each in a directory of its own (nothing outside it is touched), stopped by ``stop()``.

PostgreSQL refuses to run as root: its directory is given to the ``postgres`` user and its
commands run as that user (``runuser``).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {seconds:.0f} s")


def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return versions[-1].parent


@dataclass
class Postgres:
    url: str
    port: int
    directory: Path

    def _ctl(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", str(_postgres_bin() / "pg_ctl"),
                        "-D", str(self.directory / "data"), *args], check=True,
                       capture_output=True, timeout=60)

    def stop(self) -> None:
        if (self.directory / "data" / "postmaster.pid").exists():
            self._ctl("-m", "fast", "stop")  # a clean stop: what was committed stays

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def start(self) -> None:
        self._ctl("-w", "-l", str(self.directory / "postgres.log"), "start")
        _wait_port(self.port)


def start_postgres() -> Postgres:
    """An empty cluster, trusted on loopback, ``postgres`` database; fsync off (tests). It lives
    in a directory of its own under /tmp (the ``postgres`` user must reach it; a test's own
    temporary directory is root's only), removed by ``remove()``."""
    directory = Path(tempfile.mkdtemp(prefix="avatarcall-postgres-"))
    shutil.chown(directory, "postgres", "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", str(_postgres_bin() / "initdb"),
                    "-D", str(directory / "data"), "-A", "trust", "-U", "postgres", "--no-sync"],
                   check=True, capture_output=True, timeout=120)
    port = free_port()
    with (directory / "data" / "postgresql.conf").open("a") as conf:
        conf.write(f"\nport = {port}\nlisten_addresses = '{HOST}'\n"
                   f"unix_socket_directories = '{directory}'\nfsync = off\n"
                   "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n")
    postgres = Postgres(f"postgresql://postgres@{HOST}:{port}/postgres", port, directory)
    postgres.start()
    return postgres


@dataclass
class Redis:
    url: str
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=(self.directory / "redis.log").open("ab"), stderr=subprocess.STDOUT)
        _wait_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def start_redis(directory: Path) -> Redis:
    if shutil.which("redis-server") is None:
        raise RuntimeError("Redis is not installed (apt-get install redis-server)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    redis = Redis(f"redis://{HOST}:{port}/0", port, directory)
    redis.start()
    return redis


@dataclass
class HAProxy:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_haproxy(directory: Path, config: str, port: int) -> HAProxy:
    """HAProxy in the foreground with ``config`` (which listens on ``port``)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "haproxy.cfg"
    path.write_text(config)
    process = subprocess.Popen(["haproxy", "-db", "-f", str(path)],
                               stdout=(directory / "haproxy.log").open("ab"),
                               stderr=subprocess.STDOUT)
    _wait_port(port)
    return HAProxy(f"http://{HOST}:{port}", port, process)
