"""A call whose customer sits behind the network lab: coturn and a relay-only server on this
machine's loopback, the agent's Chromium beside them, the customer's Chromium (or Firefox) in a
namespace of its own whose traffic crosses the lab's relay (``netlab``). Tests and ``bench
network`` / ``bench recovery`` start one with :func:`lab_call`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from playwright.async_api import Browser, BrowserType

from avatarcall.ice.coturn import MAX_ALLOCATE_LIFETIME
from avatarcall.testing import browser as b
from avatarcall.testing.coturn import Coturn, start_coturn
from avatarcall.testing.firefox import FirefoxPerson, firefox_person
from avatarcall.testing.media_probe import PEER_CONNECTIONS
from avatarcall.testing.netlab import Lab
from avatarcall.testing.server import Server, start_server

SECRET = "lab-turn-secret"
BrowserName = Literal["chromium", "firefox"]  # the customer's


@dataclass
class LabCall:
    coturn: Coturn
    server: Server
    lab: Lab
    customer: b.Person | FirefoxPerson
    agent: b.Person


@contextlib.asynccontextmanager
async def lab_call(base: Path, chromium: BrowserType, beside: Browser | None = None,
                   customer_in: BrowserName = "chromium",
                   turn_lifetime: int = MAX_ALLOCATE_LIFETIME,
                   **env: str) -> AsyncIterator[LabCall]:
    """A connected call, both avatars live, state badges recorded from then on. The agent's
    Chromium is ``beside`` if given (a test's browser), else one launched here; the customer
    is in ``customer_in``; coturn grants allocations ``turn_lifetime`` seconds at most."""
    coturn = start_coturn(base / "coturn", SECRET, max_allocate_lifetime=turn_lifetime)
    server = start_server(base / "server", None, None, AVATARCALL_TURN_URLS=f'["{coturn.url}"]',
                          AVATARCALL_TURN_SECRET=SECRET, AVATARCALL_ICE_RELAY_ONLY="true", **env)
    try:
        port = int(server.url.rsplit(":", 1)[1])
        async with Lab(tcp_ports=(port,), udp_ports=(coturn.port,)) as lab, \
                _customer(lab, base, chromium, customer_in, server.url) as customer:
            agents = beside or await chromium.launch(executable_path=b.CHROMIUM,
                                                     args=b.CHROMIUM_ARGS, headless=True)
            agent: b.Person | None = None
            try:
                agent = await b.agent_logs_in(agents, server.url, init_script=PEER_CONNECTIONS)
                await b.agent_accepts(agent, await b.call_id_of(customer))
                for person in (customer, agent):
                    await person.expect_state("call-state", "connected")
                    await person.expect_state("avatar-state", "live")
                    await b.record_states(person)
                yield LabCall(coturn, server, lab, customer, agent)
            finally:
                if beside is None:
                    await agents.close()
                elif agent is not None:
                    await agent.close()
    finally:
        server.stop()
        coturn.stop()


@contextlib.asynccontextmanager
async def _customer(lab: Lab, base: Path, chromium: BrowserType,
                    browser: BrowserName, url: str) -> AsyncIterator[b.Person | FirefoxPerson]:
    """A customer who started a call from inside the lab's namespace."""
    if browser == "firefox":
        assert lab.namespace is not None
        # The driver runs in the namespace too: puppeteer reaches Firefox over its loopback.
        async with firefox_person(PEER_CONNECTIONS, base,
                                  ("ip", "netns", "exec", lab.namespace.name)) as customer:
            await customer.page.goto(url + "/")
            await customer.page.click("start-call")
            await customer.expect_state("call-state", "waiting")
            yield customer
        return
    inside = await chromium.launch(executable_path=str(lab.executable(b.CHROMIUM, base)),
                                   args=b.CHROMIUM_ARGS, headless=True)
    try:
        yield await b.customer_starts_call(inside, url, init_script=PEER_CONNECTIONS)
    finally:
        await inside.close()
