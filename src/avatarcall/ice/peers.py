"""Where the server's own peer connections (avatar links) may send packets.

A browser's offer lists the addresses it can be reached at, and aiortc sends STUN checks to each.
Anyone can send an offer (the diagnostics page is public), so without a rule an offer naming
``127.0.0.1:6379`` or ``169.254.169.254:80`` would have the server probe its own machine or its
cloud's metadata service. Candidates outside the allowed networks are taken out of the offer
before aiortc reads it.

Networks are CIDRs, or ``global`` for every globally routable address (what
:attr:`ipaddress.IPv4Address.is_global` says). The default allows the public internet and the
private ranges (customers on a LAN), and refuses loopback, link-local (169.254.169.254 included),
multicast, reserved and documentation ranges.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from avatarcall.config import DEFAULT_PEER_NETWORKS

Network = ipaddress.IPv4Network | ipaddress.IPv6Network



class PeerNetworks:
    def __init__(self, specs: Sequence[str] = DEFAULT_PEER_NETWORKS) -> None:
        self.any_global = "global" in specs
        self.networks: list[Network] = [ipaddress.ip_network(s, strict=False)
                                        for s in specs if s != "global"]

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            # A host name: only an mDNS name (a browser hiding its local address) is kept;
            # aiortc resolves it on the local network only.
            return address.endswith(".local")
        if ip.is_multicast or ip.is_unspecified:
            return False
        if self.any_global and ip.is_global:
            return True
        return any(ip in net for net in self.networks if net.version == ip.version)

    def filter_sdp(self, sdp: str) -> tuple[str, int]:
        """``sdp`` without the candidates this server may not contact; how many were dropped."""
        kept, dropped = [], 0
        for line in sdp.splitlines(keepends=True):
            if line.startswith("a=candidate:"):
                parts = line.split()
                if len(parts) < 6 or not self.allows(parts[4]):
                    dropped += 1
                    continue
            kept.append(line)
        return "".join(kept), dropped
