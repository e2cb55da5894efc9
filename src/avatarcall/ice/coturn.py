"""A hardened coturn configuration for avatarcall's TURN REST credentials.

``render_config`` returns the text of a ``turnserver.conf`` (one ``key`` or
``key=value`` per line; every key is a ``turnserver`` long option of coturn 4.6,
checked against ``turnserver -h``). What it sets, and why:

- authentication only by short-lived credentials derived from a shared secret
  (``use-auth-secret`` + ``static-auth-secret``, see ``credentials.py``), with a
  nonce that goes stale (``stale-nonce``) and integrity ``fingerprint``s;
- relaying only to public addresses: ``denied-peer-ip`` covers private,
  loopback, link-local, unique-local, CGNAT and "this network" ranges, and
  ``no-multicast-peers`` the multicast ones, so a credential cannot turn the
  relay into a door to the machine or the network it runs in;
- no admin surface (``no-cli``; the web admin is off by default), no version
  banner (``no-software-attribute``), no RFC 5780 / old-STUN extras that raise
  the amplification factor of unauthenticated binding requests;
- UDP relays only (``no-tcp-relay``: WebRTC never asks for RFC 6062 TCP relays);
- quotas per identity and in total, and a bandwidth cap per session;
- TLS (``turns:``) optional, TLS 1.2+ only, no DTLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

DEFAULT_PORT = 3478
DEFAULT_TLS_PORT = 443
"""Where ``turns:`` usually listens so that it passes restrictive firewalls.

Binding a port below 1024 needs root or ``CAP_NET_BIND_SERVICE`` on ``turnserver``.
"""
MAX_ALLOCATE_LIFETIME = 120
"""Seconds: the longest life coturn grants an allocation (``render_config`` says why)."""

_MAX_LINE_BYTES = 1023  # coturn reads its config file line by line into a 1024-byte buffer

# Peer addresses a relay must never reach: (first, last) inclusive, as coturn's
# ``denied-peer-ip=<ip>[-<ip>]`` takes them (ranges, not CIDR, work on every 4.x).
#
# coturn quirk (4.6.1, ``ioa_addr_in_range``): an all-zero bound (``0.0.0.0`` or
# ``::``) means "unbounded", so a range whose *upper* bound is all-zero -- e.g. a
# single ``denied-peer-ip=::`` -- matches every address of every family and the
# server relays nothing (403 Forbidden IP). The unspecified addresses need no
# entry: coturn refuses them as peers by itself since 4.5.2 (CVE-2020-26262).
_DENIED_ALWAYS: tuple[tuple[str, str, str], ...] = (
    ("0.0.0.0", "0.255.255.255", "'this' network, 0.0.0.0/8"),
    ("10.0.0.0", "10.255.255.255", "private, 10.0.0.0/8"),
    ("100.64.0.0", "100.127.255.255", "carrier-grade NAT, 100.64.0.0/10"),
    ("169.254.0.0", "169.254.255.255", "link-local, 169.254.0.0/16 (cloud metadata lives here)"),
    ("172.16.0.0", "172.31.255.255", "private, 172.16.0.0/12"),
    ("192.0.0.0", "192.0.0.255", "IETF protocol assignments, 192.0.0.0/24"),
    ("192.0.2.0", "192.0.2.255", "documentation, 192.0.2.0/24"),
    ("192.168.0.0", "192.168.255.255", "private, 192.168.0.0/16"),
    ("198.18.0.0", "198.19.255.255", "benchmarking, 198.18.0.0/15"),
    ("198.51.100.0", "198.51.100.255", "documentation, 198.51.100.0/24"),
    ("203.0.113.0", "203.0.113.255", "documentation, 203.0.113.0/24"),
    ("240.0.0.0", "255.255.255.255", "reserved and broadcast, 240.0.0.0/4"),
    ("64:ff9b::", "64:ff9b::ffff:ffff", "NAT64, 64:ff9b::/96 (reaches IPv4 through a translator)"),
    ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation, 2001:db8::/32"),
    ("2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "6to4, 2002::/16 (embeds IPv4)"),
    ("::ffff:0.0.0.0", "::ffff:255.255.255.255", "IPv4-mapped IPv6, ::ffff:0:0/96"),
    ("fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local, fc00::/7"),
    ("fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local, fe80::/10"),
)
_DENIED_LOOPBACK: tuple[tuple[str, str, str], ...] = (
    ("127.0.0.0", "127.255.255.255", "loopback, 127.0.0.0/8"),
    ("::1", "::1", "loopback, ::1"),
)


def render_config(
    realm: str,
    secret: str,
    listening_ip: str,
    external_ip: str | None = None,
    port: int = DEFAULT_PORT,
    tls_port: int | None = None,
    cert: Path | str | None = None,
    pkey: Path | str | None = None,
    relay_min_port: int = 49152,
    relay_max_port: int = 65535,
    user_quota: int = 48,
    total_quota: int = 1200,
    max_bps: int = 500_000,
    allow_loopback_peers: bool = False,
    *,
    allowed_peer_ips: Sequence[str] = (),
    stale_nonce: int = 600,
    max_allocate_lifetime: int = MAX_ALLOCATE_LIFETIME,
    log_file: str | Path = "stdout",
    pidfile: Path | str | None = None,
    userdb: Path | str | None = None,
    verbose: bool = False,
) -> str:
    """The text of a hardened ``turnserver.conf``; run it with ``turnserver -c FILE``.

    - ``listening_ip``: the local address coturn binds and relays from.
    - ``external_ip``: the public address when coturn sits behind 1:1 NAT (cloud VMs).
    - ``tls_port`` with ``cert`` and ``pkey`` (PEM files) adds a ``turns:`` listener;
      ``DEFAULT_TLS_PORT`` (443) is the usual choice. Without it TLS and DTLS are off.
    - ``user_quota``: concurrent allocations per identity. A browser tab makes one per
      TURN URL, network interface and peer connection, and again at each ICE restart; those
      of a restart made during an outage are never released (their release is lost too) and
      stay until their lifetime ends. 12 ran out after a few cuts of a call and its
      avatar links (Firefox, two interfaces: no relay any more, the call never came back);
    - ``max_allocate_lifetime``: the longest lifetime granted to an allocation, in seconds.
      Firefox asks for an hour, so that an allocation whose release was lost counted against
      ``user_quota`` for an hour: 48 ran out at the 24th cut of 5 s in a row. Browsers refresh
      a live allocation before its lifetime ends (Chromium a minute before, Firefox 10 s
      before), so a short one costs a refresh every minute or two and frees the lost ones soon;
      ``total_quota``: for the whole server; ``max_bps``: bytes per second per
      session, each direction (0 = no cap).
    - ``allowed_peer_ips``: ranges (``ip`` or ``ip-ip``) to punch through the
      denied list, e.g. an avatar server on the same private network.
    - ``allow_loopback_peers``: FOR TESTS ON 127.0.0.1 ONLY.
    - ``log_file``: a path, or ``"stdout"`` (the default, for containers and systemd).
    - ``userdb``: coturn's SQLite file. coturn opens one even with a static secret
      (to look for extra secrets in it), by default the system's
      ``/var/lib/turn/turndb``; tests point it into their own directory.
    """
    _check_value("realm", realm)
    _check_value("secret", secret)
    _check_ip("listening_ip", listening_ip)
    if external_ip is not None:
        _check_ip("external_ip", external_ip)
    _check_port("port", port)
    _check_port("relay_min_port", relay_min_port)
    _check_port("relay_max_port", relay_max_port)
    if relay_min_port > relay_max_port:
        raise ValueError(
            f"relay_min_port {relay_min_port} is above relay_max_port {relay_max_port}")
    for name, number in (("user_quota", user_quota), ("total_quota", total_quota),
                         ("max_bps", max_bps), ("stale_nonce", stale_nonce)):
        if number < 0:
            raise ValueError(f"{name} must not be negative, not {number}")
    if max_allocate_lifetime < 30:  # Firefox fails an allocation of 10 s or less
        raise ValueError(
            f"max_allocate_lifetime must be 30 seconds or more, not {max_allocate_lifetime}")
    for spec in allowed_peer_ips:
        _check_range("allowed_peer_ips", spec)

    lines = [
        "# coturn configuration written by avatarcall (avatarcall.ice.coturn.render_config).",
        "",
        "# Listeners",
        f"listening-ip={listening_ip}",
        f"listening-port={port}",
    ]
    if not ipaddress.ip_address(listening_ip).is_unspecified:
        lines.append(f"relay-ip={listening_ip}")
    if external_ip is not None:
        lines.append(f"external-ip={external_ip}")
    lines += [f"min-port={relay_min_port}", f"max-port={relay_max_port}"]
    if tls_port is not None:
        _check_port("tls_port", tls_port)
        if tls_port == port:
            raise ValueError("tls_port must differ from port")
        if cert is None or pkey is None:
            raise ValueError("a TLS listener needs both cert and pkey (PEM files)")
        _check_value("cert", str(cert))
        _check_value("pkey", str(pkey))
        lines += [f"tls-listening-port={tls_port}", f"cert={cert}", f"pkey={pkey}",
                  "no-tlsv1", "no-tlsv1_1"]
    else:
        lines.append("no-tls")
    lines += [
        "# browsers never speak DTLS to TURN",
        "no-dtls",
        "# WebRTC only asks for UDP relays (RFC 6062 TCP relays are not used)",
        "no-tcp-relay",
        "",
        "# Authentication: TURN REST credentials only (avatarcall.ice.credentials)",
        "use-auth-secret",
        f"static-auth-secret={secret}",
        f"realm={realm}",
        "fingerprint",
        f"stale-nonce={stale_nonce}",
        "# the database may not widen peer lists or realms behind this file's back",
        "no-dynamic-ip-list",
        "no-dynamic-realms",
        "no-auth-pings",
    ]
    if userdb is not None:
        _check_value("userdb", str(userdb))
        lines.append(f"userdb={userdb}")
    lines += [
        "",
        "# No admin surface, no version banner, less amplification",
        "no-cli",
        "no-software-attribute",
        "no-rfc5780",
        "no-stun-backward-compatibility",
        "response-origin-only-with-rfc5780",
        "",
        "# Quotas",
        f"user-quota={user_quota}",
        f"total-quota={total_quota}",
        f"max-bps={max_bps}",
        f"max-allocate-lifetime={max_allocate_lifetime}",
        "",
        "# Peers: public addresses only",
        "no-multicast-peers",
    ]
    if allow_loopback_peers:
        lines += [
            "# !!! FOR TESTS ONLY: lets relays reach 127.0.0.0/8 and ::1 so that test peers on",
            "# !!! this machine can meet through coturn. Never in production: it opens every",
            "# !!! local service (databases, admin ports) to anyone holding a credential.",
            "allow-loopback-peers",
        ]
    denied = _DENIED_ALWAYS if allow_loopback_peers else _DENIED_ALWAYS + _DENIED_LOOPBACK
    for first, last, why in denied:
        lines.append(f"# {why}")
        lines.append(f"denied-peer-ip={first}" if first == last else
                     f"denied-peer-ip={first}-{last}")
    own = [ip for ip in (listening_ip, external_ip) if ip is not None
           and not ipaddress.ip_address(ip).is_unspecified
           and not (allow_loopback_peers and ipaddress.ip_address(ip).is_loopback)]
    for ip in dict.fromkeys(own):
        lines.append("# the TURN host itself: a relay must not reach its own services")
        lines.append(f"denied-peer-ip={ip}")
    for spec in allowed_peer_ips:
        lines.append(f"allowed-peer-ip={spec}")
    lines += ["", "# Logging"]
    _check_value("log_file", str(log_file))
    lines += [f"log-file={log_file}", "simple-log"]
    if pidfile is not None:
        _check_value("pidfile", str(pidfile))
        lines.append(f"pidfile={pidfile}")
    if verbose:
        lines.append("verbose")
    for line in lines:
        if len(line.encode()) > _MAX_LINE_BYTES:
            # coturn 4.6.1 reads lines into a 1024-byte buffer and silently cuts the rest
            # off: a long secret would be truncated and every credential refused.
            raise ValueError(f"{line.split('=', 1)[0]}: value too long for a coturn config line")
    return "\n".join(lines) + "\n"


def _check_value(name: str, value: str) -> None:
    # A value is the rest of its line: a line break would inject options, and
    # coturn reads a leading '#' as a comment and trims surrounding blanks.
    if not value or not value.isprintable() or value != value.strip() or value.startswith("#"):
        raise ValueError(f"{name} must be a non-empty single-line value without surrounding blanks")


def _check_ip(name: str, value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{name} must be an IP address, not {value!r}") from None


def _check_range(name: str, spec: str) -> None:
    first, _, last = spec.partition("-")
    last = last or first
    _check_ip(name, first)
    _check_ip(name, last)
    low, high = ipaddress.ip_address(first), ipaddress.ip_address(last)
    if low.version != high.version or int(low) > int(high):
        raise ValueError(f"{name}: {spec!r} is not an ip or a low-high range of one family")
    if high.is_unspecified:
        # coturn reads an all-zero upper bound as "no bound": the range would cover everything.
        raise ValueError(
            f"{name}: {spec!r} ends at an unspecified address, which coturn reads as 'all'")


def _check_port(name: str, value: int) -> None:
    if not 0 < value < 65536:
        raise ValueError(f"{name} must be a port number (1-65535), not {value}")
