"""A real avatarcall server in its own process on a free loopback port (tests and benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

DEMO_AGENT = ("alice", "correct-horse")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def tls(self) -> bool:
        return self.url.startswith("https://")

    def unexpected_tracebacks(self) -> list[str]:
        """Tracebacks in the server's log, except those of deliberate fault drills (tests that
        crash an avatar on purpose share this server)."""
        blocks = self.log.read_text().split("Traceback (most recent call last):")[1:]
        return [b[:2000] for b in blocks if "injected fault" not in b.split("\n\n")[0][:4000]]

    def client(self, **kwargs: object) -> httpx.AsyncClient:
        """An HTTP client for this server (a self-signed certificate is not checked)."""
        return httpx.AsyncClient(base_url=self.url, verify=not self.tls, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path, port: int | None = None, tls: str | None = None,
                 **env: str) -> Server:
    """``tls="self-signed"`` serves HTTPS with ``--tls self-signed``."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"server-{port}.log"
    environment = {
        **os.environ,
        "AVATARCALL_DATA_DIR": str(data_dir),
        "AVATARCALL_DEMO_AGENT": ":".join(DEMO_AGENT),
        "AVATARCALL_FAULT_INJECTION": "true",
        "AVATARCALL_LOG_LEVEL": "INFO",
        # Every test page comes from 127.0.0.1: the per-address limits have their own tests.
        "AVATARCALL_CALLS_PER_ADDRESS": "100000",
        "AVATARCALL_DIAGNOSTICS_PER_ADDRESS": "100000",
        # Test browsers and peers live on this machine (loopback, and this sandbox's
        # documentation-range address): the refused ranges have their own test.
        "AVATARCALL_AVATAR_PEER_NETWORKS": '["0.0.0.0/0", "::/0"]',
        "AVATARCALL_ALLOWED_HOSTS": '["127.0.0.1", "localhost"]',
        # Tests leave many calls waiting at once on a machine busy with browsers: every worker
        # takes their avatars whatever it measures (capacity and its line have their own tests).
        "AVATARCALL_AVATAR_MIN_CAPACITY": "200",
        **env,
    }
    command = [sys.executable, "-m", "avatarcall", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if tls is not None:
        command += ["--tls", tls]
    process = subprocess.Popen(command, env=environment, stdout=log.open("wb"),
                               stderr=subprocess.STDOUT)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    # A busy machine (browsers, other servers) can take a while to start one: 60 s.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            health = httpx.get(f"{url}/healthz", timeout=1, verify=tls is None)
            # Ready once its own avatar workers have dialled in (a test's first call gets one).
            if health.status_code == 200 and health.json().get("workers_ready", True):
                return Server(url, data_dir, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start in 60 s")


@dataclass
class RemoteWorker:
    """``avatarcall worker`` as on another machine: its own directory and environment, a key
    made with ``avatarcall workerkey add`` in the server's data directory."""

    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: its sessions stop now
            self.process.wait(10)


def start_remote_worker(server_url: str, server_data: Path, directory: Path,
                        worker_id: str) -> RemoteWorker:
    made = subprocess.run([sys.executable, "-m", "avatarcall", "workerkey", "add", worker_id],
                          env={**os.environ, "AVATARCALL_DATA_DIR": str(server_data)},
                          capture_output=True, text=True, timeout=60, check=True)
    directory.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATARCALL_")}
    log = directory / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "avatarcall", "worker", "--server", server_url, "--id", worker_id],
        cwd=directory, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        env={**env, "AVATARCALL_WORKER_KEY": made.stdout.strip(),
             "AVATARCALL_DATA_DIR": str(directory / "data"),
             # its viewers are on this machine too (tests): any address may be a candidate
             "AVATARCALL_AVATAR_PEER_NETWORKS": '["0.0.0.0/0", "::/0"]'})
    return RemoteWorker(process, log)
