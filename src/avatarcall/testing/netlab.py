"""The network lab: a person's browser in a network namespace of its own, whose only way out is
a user-space relay in this process that shapes its traffic (``shaping``), cuts it, or gives it
another address.

Inside the namespace there is only loopback. The relay listens there on the ports the pages use
(the server's HTTP/WebSocket port over TCP, coturn's port over UDP) and carries what it gets to
the same ports on this machine's loopback: the page's origin stays ``http://127.0.0.1:PORT`` (a
secure context) and the browser reaches coturn at the address the server hands out, so the
person's media, relay-only, all crosses the relay. The other people (the agent, the server's
avatar peers) stay on the machine's loopback, unimpaired.

- :meth:`Lab.shape`: a :class:`~avatarcall.testing.shaping.Profile` (rate, delay, jitter, loss,
  each way) from now on;
- :meth:`Lab.cut`: nothing gets through, silently, until restored (TCP held, as a real outage);
- :meth:`Lab.change_network`: the person's traffic comes from another address (new source
  ports towards coturn, the open TCP connections reset), as the servers see a phone's handover.

Needs root (namespaces) and iproute2; :func:`unavailable` says why not otherwise.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import itertools
import os
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from avatarcall.testing.shaping import PROFILES, Profile, Shaper

LOOPBACK = "127.0.0.1"
NETWORK = "10.201.0.{}"  # inside each namespace: no clash between labs
CLONE_NEWNET = 0x40000000
_names = itertools.count()


def unavailable() -> str | None:
    """Why the lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the network lab needs root (network namespaces)"
    if shutil.which("ip") is None:
        return "the network lab needs iproute2's ip"
    return None


class Namespace:
    """Loopback, and one interface with an address: a browser gathers candidates only on a
    network that is not loopback (its TURN traffic still goes to 127.0.0.1, to the relay)."""

    def __init__(self) -> None:
        self.name = f"avatarcall-{os.getpid()}-{next(_names)}"
        self.address = NETWORK.format(2)
        self._ip("netns", "add", self.name, namespace=False)
        self._ip("link", "set", "lo", "up")
        # Both ends of a veth pair inside (this kernel has no dummy interfaces).
        self._ip("link", "add", "lab0", "type", "veth", "peer", "name", "lab1")
        self._ip("addr", "add", f"{self.address}/24", "dev", "lab0")
        for device in ("lab0", "lab1"):
            self._ip("link", "set", device, "up")
        # A default route, as any machine on a network has: Firefox gathers candidates on the
        # address it would reach the internet from, and finds none without one.
        self._ip("route", "add", "default", "dev", "lab0")

    def _ip(self, *args: str, namespace: bool = True) -> None:
        where = ["-n", self.name] if namespace else []
        subprocess.run(["ip", *where, *args], check=True, capture_output=True)


    def socket(self, kind: int) -> socket.socket:
        """A socket of the namespace (made on a thread that enters it, then ends)."""
        made: list[Any] = []

        def inside() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            with open(f"/run/netns/{self.name}") as ns:
                if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                    made.append(OSError(ctypes.get_errno(), "setns"))
                    return
            made.append(socket.socket(socket.AF_INET, kind))

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join()
        if isinstance(made[0], OSError):
            raise made[0]
        return made[0]

    def executable(self, binary: str, folder: Path) -> Path:
        """A launcher that runs ``binary`` in this namespace (what Playwright is given)."""
        path = folder / f"{Path(binary).name}-in-{self.name}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {binary} "$@"\n')
        path.chmod(0o755)
        return path

    def delete(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)


STUN_COOKIE = b"\x21\x12\xa4\x42"
DATA_ATTRIBUTE = 0x0013


def carries_check(data: bytes) -> bool:
    """Whether a datagram to the TURN server carries an ICE check to a peer (a STUN Binding
    request): in a ChannelData message, or in a Send indication's DATA attribute."""
    if len(data) >= 4 and 0x40 <= data[0] <= 0x7F:  # ChannelData: channel, length, data
        return _binding_request(data[4:])
    if len(data) < 20 or data[:2] != b"\x00\x16" or data[4:8] != STUN_COOKIE:  # Send indication
        return False
    at = 20
    while at + 4 <= len(data):
        kind, length = struct.unpack_from("!HH", data, at)
        if kind == DATA_ATTRIBUTE:
            return _binding_request(data[at + 4:at + 4 + length])
        at += 4 + (length + 3) // 4 * 4
    return False


def _binding_request(data: bytes) -> bool:
    return len(data) >= 20 and data[:2] == b"\x00\x01" and data[4:8] == STUN_COOKIE


class Link:
    """Both directions of the person's link, shared by every relay (one link, one rate)."""

    def __init__(self, profile: Profile) -> None:
        self.shape(profile)
        self.open = asyncio.Event()
        self.open.set()
        self.checks_lost = False  # the person's ICE checks are lost on the way, media is not

    def shape(self, profile: Profile) -> None:
        self.profile = profile
        self.up, self.down = Shaper(profile.up), Shaper(profile.down)

    def deliver(self, shaper: Callable[[], Shaper], size: int, send: Callable[[], None]) -> None:
        """``send`` when a datagram of ``size`` crossing ``shaper`` arrives (if it does)."""
        if not self.open.is_set():
            return
        loop = asyncio.get_running_loop()
        at = shaper().arrival(loop.time(), size)
        if at is not None:
            loop.call_at(at, send)


class UdpRelay(asyncio.DatagramProtocol):
    """Datagrams from the namespace's ``port`` to this machine's, from one upstream socket (one
    source address) per client, and back."""

    def __init__(self, link: Link, port: int) -> None:
        self.link, self.port = link, port
        self.inner: asyncio.DatagramTransport | None = None
        self.upstream: dict[tuple[str, int], socket.socket] = {}

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = self.upstream.get(addr)
        if out is None:
            out = self.upstream[addr] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            out.setblocking(False)
            out.connect((LOOPBACK, self.port))
            asyncio.get_running_loop().add_reader(out, self._from_upstream, addr, out)
        if self.link.checks_lost and carries_check(data):
            return
        self.link.deliver(lambda: self.link.up, len(data), lambda: _send(out, data))

    def _from_upstream(self, client: tuple[str, int], out: socket.socket) -> None:
        try:
            data = out.recv(65536)
        except OSError:  # nobody listens there (coturn restarting): ICMP refused
            return
        if self.inner is not None:
            inner = self.inner
            self.link.deliver(lambda: self.link.down, len(data),
                              lambda: None if inner.is_closing() else inner.sendto(data, client))

    def readdress(self) -> None:
        """New source ports towards this machine from now on."""
        upstream, self.upstream = self.upstream, {}
        loop = asyncio.get_running_loop()
        for out in upstream.values():
            loop.remove_reader(out)
            out.close()


def _send(out: socket.socket, data: bytes) -> None:
    if out.fileno() < 0:
        return  # readdressed meanwhile: what was on the way is lost
    try:
        out.send(data)
    except OSError:  # full, or refused: lost, as on a network
        pass


class TcpRelay:
    """Connections to the namespace's ``port`` carried to this machine's, shaped both ways
    (no loss: TCP resends; a cut holds the bytes)."""

    def __init__(self, link: Link, port: int) -> None:
        self.link, self.port = link, port
        self.server: asyncio.Server | None = None
        self.connections: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(LOOPBACK, self.port)
        except OSError:
            writer.transport.abort()
            return
        self.connections |= {writer, up_writer}
        try:
            await asyncio.gather(self._pump(reader, up_writer, lambda: self.link.up),
                                 self._pump(up_reader, writer, lambda: self.link.down))
        finally:
            for w in (writer, up_writer):
                self.connections.discard(w)
                w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    shaper: Callable[[], Shaper]) -> None:
        loop = asyncio.get_running_loop()
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def write() -> None:
            while True:
                at, data = await due.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, at - loop.time()))
                await self.link.open.wait()
                writer.write(data)
                await writer.drain()
            writer.close()

        writing = loop.create_task(write())
        try:
            while data := await reader.read(16384):
                await self.link.open.wait()
                at = shaper().arrival(loop.time(), len(data), reliable=True)
                due.put_nowait((at or loop.time(), data))
        except OSError:
            pass
        finally:
            due.put_nowait((0.0, b""))
            await asyncio.gather(writing, return_exceptions=True)

    def reset(self) -> None:
        """Every open connection dropped (their address is gone)."""
        for writer in list(self.connections):
            writer.transport.abort()


def _same(relay: UdpRelay) -> UdpRelay:
    return relay


class Lab:
    """One person's network; ``async with Lab(tcp_ports=..., udp_ports=...) as lab``."""

    def __init__(self, tcp_ports: tuple[int, ...], udp_ports: tuple[int, ...],
                 profile: Profile = PROFILES["good"]) -> None:
        self.tcp_ports, self.udp_ports = tcp_ports, udp_ports
        self._profile = profile
        self.namespace: Namespace | None = None
        self.tcp: list[TcpRelay] = []
        self.udp: list[UdpRelay] = []

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        self.namespace = await asyncio.to_thread(Namespace)
        self.link = Link(self._profile)
        for port in self.tcp_ports:
            listening = self.namespace.socket(socket.SOCK_STREAM)
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind((LOOPBACK, port))
            relay = TcpRelay(self.link, port)
            relay.server = await asyncio.start_server(relay.handle, sock=listening)
            self.tcp.append(relay)
        for port in self.udp_ports:
            inner = self.namespace.socket(socket.SOCK_DGRAM)
            inner.bind((LOOPBACK, port))
            udp = UdpRelay(self.link, port)
            udp.inner, _ = await loop.create_datagram_endpoint(functools.partial(_same, udp),
                                                               sock=inner)
            self.udp.append(udp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.link.open.set()
        for relay in self.tcp:
            relay.reset()
            if relay.server is not None:
                relay.server.close()
        for udp in self.udp:
            udp.readdress()
            if udp.inner is not None:
                udp.inner.close()
        if self.namespace is not None:
            await asyncio.to_thread(self.namespace.delete)

    def executable(self, binary: str, folder: Path) -> Path:
        if self.namespace is None:
            raise RuntimeError("the lab is not started")
        return self.namespace.executable(binary, folder)

    def shape(self, profile: Profile) -> None:
        self.link.shape(profile)

    @property
    def profile(self) -> Profile:
        return self.link.profile

    def cut(self) -> None:
        self.link.open.clear()

    def restore(self) -> None:
        self.link.open.set()

    def lose_checks(self, lost: bool = True) -> None:
        """The person's ICE checks (and consent checks) to the other side get no answer while
        their media goes on: what a lossy link does to a check now and then, made certain."""
        self.link.checks_lost = lost

    def change_network(self) -> None:
        """The person's traffic comes from another address (new source ports towards coturn)
        and its open TCP connections reset: a handover as the servers see it. (Chromium in a
        namespace does not notice its interface's address change -- its list of networks stays
        as it was -- so the browser learns of it as from a carrier's NAT: nothing answers.)"""
        for udp in self.udp:
            udp.readdress()
        for relay in self.tcp:
            relay.reset()
