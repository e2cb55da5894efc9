"""``avatarcall diagnose URL``: the server-side part of /diagnostics, from a command line, with an
aiortc client: the server's health, STUN and TURN with the server's own credentials, and an
avatar stream (first frame, frame rate, sound)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
import numpy as np
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription


@dataclass
class Check:
    name: str
    status: str  # pass | fail | skip
    detail: str


def _servers(entries: list[dict], scheme: str) -> list[RTCIceServer]:
    return [RTCIceServer(urls=[u for u in ([e["urls"]] if isinstance(e["urls"], str) else e["urls"])
                              if u.startswith(scheme)],
                         username=e.get("username"), credential=e.get("credential"))
            for e in entries if any(u.startswith(scheme) for u in
                                    ([e["urls"]] if isinstance(e["urls"], str) else e["urls"]))]


async def _gather(servers: list[RTCIceServer], kind: str) -> tuple[bool, float]:
    """Whether aiortc's gathering with ``servers`` yields a ``kind`` candidate, and how long it took."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=servers[:1]))
    pc.createDataChannel("probe")
    start = time.perf_counter()
    await pc.setLocalDescription(await pc.createOffer())
    elapsed = time.perf_counter() - start
    found = f"typ {kind}" in pc.localDescription.sdp
    await pc.close()
    return found, elapsed


async def _avatar(http: httpx.AsyncClient, seconds: float) -> Check:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    tracks: dict[str, object] = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    await pc.setLocalDescription(await pc.createOffer())
    start = time.perf_counter()
    response = await http.post("/api/diagnostics/avatar", json={"sdp": pc.localDescription.sdp})
    if response.status_code != 200:
        await pc.close()
        return Check("avatar", "fail", f"the server refused: {response.json().get('message')}")
    await pc.setRemoteDescription(RTCSessionDescription(response.json()["sdp"], "answer"))
    try:
        video, audio = tracks["video"], tracks["audio"]
        frame = await asyncio.wait_for(video.recv(), 20)  # type: ignore[attr-defined]
        first = time.perf_counter() - start
        frames, peak, t0 = 0, 0.0, time.perf_counter()

        async def count_video() -> None:
            nonlocal frames
            while time.perf_counter() - t0 < seconds:
                await video.recv()  # type: ignore[attr-defined]
                frames += 1

        async def loudness() -> None:
            nonlocal peak
            while time.perf_counter() - t0 < seconds:
                chunk = await audio.recv()  # type: ignore[attr-defined]
                peak = max(peak, float(np.abs(chunk.to_ndarray()).max()) / 32768)

        await asyncio.wait_for(asyncio.gather(count_video(), loudness()), seconds + 10)
        fps = frames / (time.perf_counter() - t0)
        status = "pass" if fps > 10 and peak > 0.01 else "fail"
        return Check("avatar", status, f"first frame {first * 1000:.0f} ms ({frame.width}x{frame.height}), "
                                       f"{fps:.1f} fps, sound peak {peak:.2f}")
    except (TimeoutError, KeyError):
        return Check("avatar", "fail", "no avatar frame within 20 s")
    finally:
        await pc.close()


async def _diagnose(url: str, seconds: float, insecure: bool = False) -> list[Check]:
    checks: list[Check] = []
    async with httpx.AsyncClient(base_url=url.rstrip("/"), timeout=30,
                                 verify=not insecure) as http:
        try:
            health = (await http.get("/healthz")).json()
        except (httpx.HTTPError, ValueError) as exc:
            return [Check("server", "fail", f"{url} does not answer: {exc}")]
        checks.append(Check("server", "pass", f"up: {health.get('calls', 0)} calls, "
                                              f"{health.get('avatar_sessions', 0)} avatar sessions"))
        config = (await http.get("/api/diagnostics/config")).json()
        for name, scheme, kind, configured in (("stun", "stun", "srflx", config["stun_configured"]),
                                               ("turn", "turn", "relay", config["turn_configured"])):
            servers = _servers(config["ice_servers_call"], scheme)
            if not configured or not servers:
                checks.append(Check(name, "skip", "not configured on the server"))
                continue
            found, elapsed = await _gather(servers, kind)
            where = ", ".join(servers[0].urls)
            if found:
                checks.append(Check(name, "pass", f"{kind} candidate from {where} in {elapsed * 1000:.0f} ms"))
            elif name == "stun":
                checks.append(Check(name, "pass", f"{where} gave no address beyond ours (no NAT here)"))
            else:
                checks.append(Check(name, "fail", f"no relay from {where} with the server's credentials: "
                                                  "the TURN server is down, unreachable, or its secret differs"))
        checks.append(await _avatar(http, seconds))
    return checks


def run(url: str, seconds: float = 5.0, insecure: bool = False) -> int:
    """``insecure``: do not check the server's TLS certificate (a self-signed trial server)."""
    checks = asyncio.run(_diagnose(url, seconds, insecure))
    width = max(len(c.name) for c in checks)
    for c in checks:
        print(f"  {c.name:<{width}}  {c.status:<4}  {c.detail}")
    failed = [c.name for c in checks if c.status == "fail"]
    print(f"\nverdict: {'needs attention: ' + ', '.join(failed) if failed else 'all good'}")
    return 1 if failed else 0
