"""A call whose customer sits behind the network lab: coturn and a relay-only server on this
machine's loopback, the agent's Chromium beside them, the customer's Chromium in a namespace of
its own whose traffic crosses the lab's relay (``netlab``). Tests and ``bench network`` /
``bench recovery`` start one with :func:`lab_call`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Browser, BrowserType

from avatarcall.testing import browser as b
from avatarcall.testing.coturn import Coturn, start_coturn
from avatarcall.testing.media_probe import PEER_CONNECTIONS
from avatarcall.testing.netlab import Lab
from avatarcall.testing.server import Server, start_server

SECRET = "lab-turn-secret"


@dataclass
class LabCall:
    coturn: Coturn
    server: Server
    lab: Lab
    customer: b.Person
    agent: b.Person


@contextlib.asynccontextmanager
async def lab_call(base: Path, chromium: BrowserType, beside: Browser | None = None,
                   **env: str) -> AsyncIterator[LabCall]:
    """A connected call, both avatars live, state badges recorded from then on. The agent's
    Chromium is ``beside`` if given (a test's browser), else one launched here."""
    coturn = start_coturn(base / "coturn", SECRET)
    server = start_server(base / "server", None, None, AVATARCALL_TURN_URLS=f'["{coturn.url}"]',
                          AVATARCALL_TURN_SECRET=SECRET, AVATARCALL_ICE_RELAY_ONLY="true", **env)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        async with Lab(tcp_ports=(port,), udp_ports=(coturn.port,)) as lab:
            inside = await chromium.launch(
                executable_path=str(lab.executable(b.CHROMIUM, base)), args=b.CHROMIUM_ARGS,
                headless=True)
            agents = beside or await chromium.launch(executable_path=b.CHROMIUM,
                                                     args=b.CHROMIUM_ARGS, headless=True)
            agent: b.Person | None = None
            try:
                customer = await b.customer_starts_call(inside, server.url,
                                                        init_script=PEER_CONNECTIONS)
                agent = await b.agent_logs_in(agents, server.url, init_script=PEER_CONNECTIONS)
                await b.agent_accepts(agent, await b.call_id_of(customer))
                for person in (customer, agent):
                    await person.expect_state("call-state", "connected")
                    await person.expect_state("avatar-state", "live")
                    await b.record_states(person)
                yield LabCall(coturn, server, lab, customer, agent)
            finally:
                await inside.close()
                if beside is None:
                    await agents.close()
                elif agent is not None:
                    await agent.close()
    finally:
        server.stop()
        coturn.stop()
