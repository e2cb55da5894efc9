"""A real coturn on 127.0.0.1: what it accepts and refuses, and aiortc peers meeting through it."""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import secrets
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioice import stun
from aioice.turn import TurnTransport, create_turn_endpoint
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)

from avatarcall.ice import IceConfig, TurnPool, for_aiortc, grant, mint, render_config
from avatarcall.testing.coturn import Coturn, start_coturn, stun_binding_answered


@pytest.fixture
def secret() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def coturn(tmp_path: Path, secret: str) -> Iterator[Coturn]:
    with start_coturn(tmp_path / "coturn", secret) as server:
        yield server


class Relayed(asyncio.DatagramProtocol):
    """What a TURN client receives through its allocation, and the errors it is told about."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.errors.put_nowait(exc)


async def _allocate(address: tuple[str, int], username: str, password: str,
                    **kwargs: object) -> tuple[TurnTransport, Relayed]:
    return await create_turn_endpoint(Relayed, address, username, password,
                                      **kwargs)  # type: ignore[arg-type]


async def _close(transport: TurnTransport, protocol: Relayed) -> None:
    transport.close()  # deletes the allocation, then tells the protocol
    await asyncio.wait_for(protocol.closed, 10)


def _udp_peer() -> socket.socket:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(10)
    return peer


def _error_code(exc: BaseException) -> int:
    assert isinstance(exc, stun.TransactionFailed), exc
    return int(exc.response.attributes["ERROR-CODE"][0])


# --- what coturn accepts and refuses ---------------------------------------------------------


async def test_minted_credentials_get_an_allocation_that_relays_both_ways(coturn: Coturn) -> None:
    credential = mint(coturn.secret, "call-1:customer", now=time.time())
    transport, protocol = await _allocate(coturn.address, credential.username, credential.password)
    relayed = transport.get_extra_info("sockname")
    assert relayed[0] == "127.0.0.1" and relayed[1] != coturn.port
    with _udp_peer() as peer:
        transport.sendto(b"to the peer", peer.getsockname())
        data, source = await asyncio.to_thread(peer.recvfrom, 2048)
        assert (data, source) == (b"to the peer", tuple(relayed))  # it came from the relay
        peer.sendto(b"to the client", source)
        received = await asyncio.wait_for(protocol.received.get(), 10)
        assert received == (b"to the client", peer.getsockname())
    await _close(transport, protocol)


async def test_expired_credentials_are_refused(coturn: Coturn) -> None:
    expired = mint(coturn.secret, "call-1:customer", 60, now=time.time() - 120)
    with pytest.raises(stun.TransactionFailed) as refused:
        await _allocate(coturn.address, expired.username, expired.password)
    assert _error_code(refused.value) == 401


async def test_forged_credentials_are_refused(coturn: Coturn) -> None:
    now = time.time()
    forged = mint("not-the-secret", "call-1:customer", now=now)
    with pytest.raises(stun.TransactionFailed) as refused:
        await _allocate(coturn.address, forged.username, forged.password)
    assert _error_code(refused.value) == 401
    # A genuine password does not carry over to a username whose expiry was pushed back.
    genuine = mint(coturn.secret, "call-1:customer", 60, now=now)
    stretched = genuine.username.replace(str(genuine.expires_at), str(genuine.expires_at + 86_400))
    with pytest.raises(stun.TransactionFailed) as refused:
        await _allocate(coturn.address, stretched, genuine.password)
    assert _error_code(refused.value) == 401


async def test_an_allocation_outlives_its_credential_but_no_new_one_is_made(coturn: Coturn) -> None:
    # coturn checks the expiry when a session first authenticates: a call keeps its relay
    # past the credential's expiry, and only new allocations (ICE restart) need a fresh one.
    credential = mint(coturn.secret, "long-call", 1, now=time.time())
    transport, protocol = await _allocate(coturn.address, credential.username, credential.password)
    # coturn's clock ticks once a second in its own thread; leave it room on a busy machine.
    while time.time() < credential.expires_at + 3:
        await asyncio.sleep(0.25)
    with _udp_peer() as peer:
        transport.sendto(b"still here", peer.getsockname())  # a new, authenticated ChannelBind
        data, _ = await asyncio.to_thread(peer.recvfrom, 2048)
        assert data == b"still here"
    with pytest.raises(stun.TransactionFailed) as refused:
        await _allocate(coturn.address, credential.username, credential.password)
    assert _error_code(refused.value) == 401
    await _close(transport, protocol)


async def test_an_allocation_asked_for_an_hour_gets_two_minutes(
        coturn: Coturn, caplog: pytest.LogCaptureFixture) -> None:
    # Firefox asks for 3600 s; an allocation whose release is lost in a cut then counted
    # against the identity's quota for an hour. Live ones are refreshed before they end.
    caplog.set_level(logging.INFO, logger="aioice.turn")
    credential = mint(coturn.secret, "call-1:customer", now=time.time())
    transport, protocol = await _allocate(coturn.address, credential.username,
                                          credential.password, lifetime=3600)
    assert "(expires in 120 seconds)" in caplog.text
    await _close(transport, protocol)


async def test_the_secret_never_reaches_the_log(coturn: Coturn) -> None:
    credential = mint(coturn.secret, "someone", now=time.time())
    transport, protocol = await _allocate(coturn.address, credential.username, credential.password)
    await _close(transport, protocol)
    assert coturn.secret not in coturn.log_path.read_text(errors="replace")


async def test_production_peer_rules_refuse_to_relay_to_loopback(tmp_path: Path,
                                                                 secret: str) -> None:
    with start_coturn(tmp_path / "hardened", secret, allow_loopback_peers=False) as hardened, \
            _udp_peer() as peer:
        credential = mint(secret, "attacker", now=time.time())
        transport, protocol = await _allocate(hardened.address, credential.username,
                                              credential.password)
        transport.sendto(b"knock knock", peer.getsockname())
        error = await asyncio.wait_for(protocol.errors.get(), 10)
        assert _error_code(error) == 403  # Forbidden IP: the relay will not reach 127.0.0.1
        await _close(transport, protocol)


def test_every_option_written_is_one_this_turnserver_knows(tmp_path: Path) -> None:
    help_text = subprocess.run(["turnserver", "-h"], capture_output=True, text=True, cwd=tmp_path,
                               check=False)  # it exits non-zero after printing help
    known = set(re.findall(r"--([a-zA-Z0-9_-]+)", help_text.stdout + help_text.stderr))
    text = render_config("r", "a-secret-value", "127.0.0.1", external_ip="203.0.113.9",
                         tls_port=5349, cert="c.pem", pkey="k.pem", allow_loopback_peers=True,
                         allowed_peer_ips=["10.0.0.1"], pidfile="t.pid", userdb="t.db",
                         verbose=True)
    written = {line.split("=", 1)[0] for line in text.splitlines()
               if line and not line.startswith("#")}
    assert written and written <= known, written - known


async def test_turns_over_tls(tmp_path: Path, secret: str) -> None:
    cert, key = _self_signed(tmp_path)
    with start_coturn(tmp_path / "tls", secret, cert=cert, pkey=key) as server:
        assert server.tls_port is not None and server.tls_url.startswith("turns:")
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the certificate names no host; it is pinned by cafile
        credential = mint(secret, "tls-user", now=time.time())
        transport, protocol = await _allocate(("127.0.0.1", server.tls_port), credential.username,
                                              credential.password, ssl=context, transport="tcp")
        assert transport.get_extra_info("sockname")[0] == "127.0.0.1"
        await _close(transport, protocol)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "avatarcall test TURN")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


# --- fault drills ----------------------------------------------------------------------------


async def test_a_paused_coturn_answers_nothing_and_catches_up_on_resume(coturn: Coturn) -> None:
    credential = mint(coturn.secret, "patient", now=time.time())
    coturn.pause()
    try:
        assert not await asyncio.to_thread(stun_binding_answered, coturn.port)
        pending = asyncio.create_task(_allocate(coturn.address, credential.username,
                                                credential.password))
        await asyncio.sleep(0.3)
        assert not pending.done()
    finally:
        coturn.resume()
    transport, protocol = await asyncio.wait_for(pending, 30)  # STUN retransmits reach it
    await _close(transport, protocol)


async def test_a_restarted_coturn_takes_the_same_credentials_on_the_same_port(
        coturn: Coturn) -> None:
    credential = mint(coturn.secret, "survivor", now=time.time())
    transport, protocol = await _allocate(coturn.address, credential.username, credential.password)
    await _close(transport, protocol)
    port = coturn.port
    await asyncio.to_thread(coturn.stop)
    assert not coturn.running
    assert not await asyncio.to_thread(stun_binding_answered, port)
    await asyncio.to_thread(coturn.start)
    assert coturn.port == port
    transport, protocol = await _allocate(coturn.address, credential.username, credential.password)
    await _close(transport, protocol)


# --- two aiortc peers meeting through coturn -------------------------------------------------


def _relay_only(sdp: str) -> str:
    """Drop every candidate that is not a relay one (there should be none with the relay policy)."""
    return "".join(line for line in sdp.splitlines(keepends=True)
                   if not line.startswith("a=candidate:") or " typ relay" in line)


def _peer(servers: list[dict[str, object]]) -> RTCPeerConnection:
    ice = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
           for s in for_aiortc(servers)]
    return RTCPeerConnection(RTCConfiguration(iceServers=ice,
                                              iceTransportPolicy=RTCIceTransportPolicy.RELAY))


async def test_two_aiortc_peers_connect_through_coturn_only(coturn: Coturn) -> None:
    config = IceConfig.shared((), TurnPool((coturn.url,), coturn.secret))
    now = time.time()
    caller = _peer(grant(config, "call", "call-9:customer", now=now).servers)
    callee = _peer(grant(config, "call", "call-9:agent", now=now).servers)
    try:
        opened = asyncio.Event()
        to_callee: asyncio.Queue[str] = asyncio.Queue()
        to_caller: asyncio.Queue[str] = asyncio.Queue()
        channel = caller.createDataChannel("chat")
        channel.on("open", opened.set)
        channel.on("message", to_caller.put_nowait)

        @callee.on("datachannel")
        def _on_channel(remote: RTCDataChannel) -> None:
            @remote.on("message")
            def _echo(message: str) -> None:
                to_callee.put_nowait(message)
                remote.send(f"echo {message}")

        await caller.setLocalDescription(await caller.createOffer())
        offer = caller.localDescription
        assert " typ relay" in offer.sdp and " typ host" not in offer.sdp
        await callee.setRemoteDescription(RTCSessionDescription(_relay_only(offer.sdp), offer.type))
        await callee.setLocalDescription(await callee.createAnswer())
        answer = callee.localDescription
        assert " typ relay" in answer.sdp and " typ host" not in answer.sdp
        await caller.setRemoteDescription(
            RTCSessionDescription(_relay_only(answer.sdp), answer.type))

        await asyncio.wait_for(opened.wait(), 30)
        channel.send("hello through the relay")
        assert await asyncio.wait_for(to_callee.get(), 30) == "hello through the relay"
        assert await asyncio.wait_for(to_caller.get(), 30) == "echo hello through the relay"
        # Each side knows only relay candidates, its own and the other's: the pair in use
        # can only be relay to relay, through coturn.
        for pc in (caller, callee):
            assert pc.sctp is not None
            ice_transport = pc.sctp.transport.transport
            local = ice_transport.iceGatherer.getLocalCandidates()
            remote = ice_transport.getRemoteCandidates()
            assert local and remote
            assert {c.type for c in local} == {c.type for c in remote} == {"relay"}
            assert {c.ip for c in local + remote} == {"127.0.0.1"}
    finally:
        await caller.close()
        await callee.close()
