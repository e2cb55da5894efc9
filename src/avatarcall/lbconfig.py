"""``avatarcall lb-config``: an HAProxy configuration for several avatarcall nodes.

Pages, the REST API, the signaling WebSockets and the avatar workers' sockets all go to any node
(the nodes share calls and tabs through Redis). HAProxy checks each node's ``/readyz`` every
second and takes a node out after two failures; the sockets it held are cut then
(``on-marked-down shutdown-sessions``) so that the pages reconnect at once to a node that works,
and a connection a dead node refuses is tried again on another (``option redispatch``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence


def _check_node(node: str) -> str:
    host, _, port = node.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"a node is HOST:PORT, not {node!r}")
    if any(c.isspace() for c in node) or "#" in node:
        raise ValueError(f"a node is HOST:PORT, not {node!r}")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if not all(part.replace("-", "").isalnum() for part in host.split(".")):
            raise ValueError(f"not a host name or address: {host!r}") from None
    return node


def render_haproxy(nodes: Sequence[str], *, port: int = 80, cert: str | None = None,
                   max_connections: int | None = None) -> str:
    """The text of an ``haproxy.cfg`` in front of ``nodes`` (``HOST:PORT`` each).

    ``cert``: a PEM file with the certificate and its key: HAProxy then serves HTTPS on
    ``port`` (the nodes behind it may speak plain HTTP on a private network).
    ``max_connections``: HAProxy's ``maxconn`` (default: what the open-files limit allows; each
    connection takes two files: raise ``LimitNOFILE`` for more).
    """
    if not nodes:
        raise ValueError("give at least one node")
    checked = [_check_node(n) for n in nodes]
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1-65535, not {port}")
    bind = f"bind :{port}" + (f" ssl crt {cert} alpn http/1.1" if cert else "")
    lines = [
        "# HAProxy in front of avatarcall nodes (avatarcall lb-config).",
        "global",
        *([f"    maxconn {max_connections}"] if max_connections else []),
        "    log stdout format raw local0 info  # systemd's journal, or the console",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option forwardfor  # the nodes' per-address limits see the customer (set",
        "                       # AVATARCALL_FORWARDED_ALLOW_IPS to this proxy's address)",
        "    option redispatch  # a node that refuses a connection: another one gets it",
        "    retries 3",
        "    timeout connect 5s",
        "    timeout client 65s  # the pages ping every 20 s; the nodes close silent sockets",
        "    timeout server 65s",
        "    timeout tunnel 1h  # an open WebSocket",
        "    timeout http-request 10s",
        "",
        "frontend avatarcall",
        f"    {bind}",
        "    default_backend nodes",
        "",
        "backend nodes",
        "    balance leastconn",
        "    option httpchk",
        "    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host localhost",
        "    http-check expect status 200",
        "    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions",
    ]
    for i, node in enumerate(checked, 1):
        lines.append(f"    server node{i} {node} check")
    return "\n".join(lines) + "\n"
