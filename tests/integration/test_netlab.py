"""The network lab itself: a process in its namespace reaches this machine only through the
relay, which shapes, cuts and re-addresses what it carries."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from avatarcall.testing.netlab import Lab, unavailable
from avatarcall.testing.shaping import PROFILES

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))

# Run in the namespace: N datagrams to the port, how many came back and from which ports the
# echo saw them, then a line over TCP.
CLIENT = """
import json, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
for i in range(n):
    s.sendto(str(i).encode(), ("127.0.0.1", port))
back = set()
try:
    while True:
        back.add(s.recv(100).decode())
except TimeoutError:
    pass
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"ping")
print(json.dumps([len(back), sorted({b.split()[1] for b in back}), c.recv(100).decode()]))
"""


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.transport.sendto(data + b" " + str(addr[1]).encode(), addr)


async def _echo_servers() -> tuple[int, asyncio.Server]:
    """A UDP and a TCP echo on one port (tried again on another while the TCP one is taken:
    the suite's other servers come and go on this machine)."""
    loop = asyncio.get_running_loop()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    for _ in range(50):
        transport, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        try:
            return port, await asyncio.start_server(echo, "127.0.0.1", port)
        except OSError:
            transport.close()
    raise RuntimeError("no port on 127.0.0.1 free for both a UDP and a TCP echo")


async def _client(lab: Lab, port: int, n: int) -> tuple[int, list[str], str]:
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", lab.namespace.name, sys.executable, "-c", CLIENT, str(port), str(n),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    count, ports, line = json.loads(out)
    return count, ports, line


async def test_the_relay_is_the_only_way_out_and_shapes_it() -> None:
    port, tcp = await _echo_servers()
    async with Lab(tcp_ports=(port,), udp_ports=(port,), profile=PROFILES["poor"]) as lab:
        back, ports, line = await _client(lab, port, 200)
        assert line == "ping"  # TCP crosses, shaped but whole
        assert 150 < back < 200  # 5% lost each way: about 90% come back
        assert len(ports) == 1  # one client, one source address outside
        assert lab.link.up.lost > 0 and lab.link.down.lost > 0

        lab.shape(PROFILES["good"])
        lab.change_network()
        back, new_ports, _ = await _client(lab, port, 20)
        assert back == 20 and new_ports != ports  # seen from another address now

        lab.cut()
        process = _client(lab, port, 3)
        task = asyncio.ensure_future(process)
        await asyncio.sleep(3.5)  # its three datagrams are lost; its TCP line waits
        assert not task.done()
        lab.restore()
        back, _, line = await task
        assert back == 0 and line == "ping"
    tcp.close()
