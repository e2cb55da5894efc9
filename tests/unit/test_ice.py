"""TURN REST credentials, per-link ICE server lists, and the hardened coturn configuration."""

from __future__ import annotations

import dataclasses
import ipaddress
import re

import pytest

from avatarcall import ice
from avatarcall.config import IceServer
from avatarcall.ice import (
    IceConfig,
    TurnCredential,
    TurnPool,
    for_aiortc,
    grant,
    ice_servers,
    mint,
    refresh_at,
    render_config,
)

NOW = 1_700_000_000.75
SECRET = "n0rth-s3cret"


# --- credentials -----------------------------------------------------------------------------


def test_credentials_match_a_hand_computed_hmac_sha1() -> None:
    # printf '1700000600:alice' | openssl dgst -sha1 -hmac north -binary | base64
    assert mint("north", "alice", 600, now=1_700_000_000) == TurnCredential(
        "1700000600:alice", "gthUwOpcRoLI0MMCziCEBOWYnpo=", 1_700_000_600, 1_700_000_000)
    # printf '1700000600:call-42:customer' \
    #   | openssl dgst -sha1 -hmac 'n0rth-s3cret' -binary | base64
    credential = mint(SECRET, "call-42:customer", now=1_700_000_000.9)
    assert credential.username == "1700000600:call-42:customer"
    assert credential.password == "8I0gqfumL3EzwFRmqfousWWn4uU="


def test_username_is_expiry_colon_identity_and_expiry_is_now_plus_ttl() -> None:
    credential = mint(SECRET, "agent-7", 90, now=NOW)
    expiry, identity = credential.username.split(":", 1)
    assert (int(expiry), identity) == (1_700_000_090, "agent-7")
    assert credential.expires_at == int(expiry)
    assert credential.ttl == 90
    assert ice.DEFAULT_TTL == 600
    assert mint(SECRET, "agent-7", now=NOW).expires_at == 1_700_000_600


def test_each_identity_and_each_moment_gets_its_own_password() -> None:
    passwords = {mint(SECRET, "a", now=NOW).password, mint(SECRET, "b", now=NOW).password,
                 mint(SECRET, "a", now=NOW + 1).password, mint("other", "a", now=NOW).password}
    assert len(passwords) == 4


@pytest.mark.parametrize("secret, identity, ttl", [
    ("", "alice", 600), (SECRET, "", 600), (SECRET, "al\nice", 600),
    (SECRET, "alice", 0), (SECRET, "alice", -5), (SECRET, "x" * 600, 600),
])
def test_bad_inputs_are_refused(secret: str, identity: str, ttl: int) -> None:
    with pytest.raises(ValueError):
        mint(secret, identity, ttl, now=NOW)


def test_refresh_comes_at_eighty_percent_of_the_lifetime_and_never_in_the_past() -> None:
    credential = mint(SECRET, "alice", 600, now=1000)
    assert refresh_at(credential, now=1000) == 1480
    assert refresh_at(credential, now=1200) == 1480
    assert refresh_at(credential, now=1500) == 1500  # overdue: now
    assert refresh_at(credential, now=1700) == 1700  # expired: now
    assert refresh_at(credential, now=1000, fraction=0.5) == 1300
    with pytest.raises(ValueError):
        refresh_at(credential, now=1000, fraction=0)


# --- server lists ----------------------------------------------------------------------------

CALL_POOL = TurnPool(("turn:turn-call.example.com:3478?transport=udp",
                      "turns:turn-call.example.com:443?transport=tcp"), "call-secret-123")
AVATAR_POOL = TurnPool(("turn:turn-avatar.example.com:3478",), "avatar-secret-456", ttl=300)
CONFIG = IceConfig(("stun:stun.example.com:3478",), call=CALL_POOL, avatar=AVATAR_POOL)


def test_each_link_kind_gets_its_own_pool_with_fresh_credentials() -> None:
    call = ice_servers(CONFIG, "call", "c1:customer", now=NOW)
    avatar = ice_servers(CONFIG, "avatar", "c1:customer", now=NOW)
    assert call == [
        {"urls": ["stun:stun.example.com:3478"]},
        {"urls": list(CALL_POOL.urls), "username": "1700000600:c1:customer",
         "credential": mint("call-secret-123", "c1:customer", now=NOW).password},
    ]
    assert avatar[1] == {
        "urls": ["turn:turn-avatar.example.com:3478"],
        "username": "1700000300:c1:customer",
        "credential": mint("avatar-secret-456", "c1:customer", 300, now=NOW).password,
    }
    agent = ice_servers(CONFIG, "call", "c1:agent", now=NOW)
    assert agent[1]["username"] == "1700000600:c1:agent"
    assert agent[1]["credential"] != call[1]["credential"]


def test_the_lists_are_valid_rtc_ice_server_json() -> None:
    for kind in ice.LINK_KINDS:
        for entry in ice_servers(CONFIG, kind, "someone", now=NOW):
            assert IceServer.model_validate(entry).model_dump(exclude_none=True) == entry


def test_a_kind_without_pool_gets_stun_only_and_shared_pools_work() -> None:
    config = IceConfig(("stun:stun.example.com",), call=CALL_POOL)
    assert ice_servers(config, "avatar", "x", now=NOW) == [{"urls": ["stun:stun.example.com"]}]
    assert grant(config, "avatar", "x", now=NOW).credential is None
    assert ice_servers(IceConfig(), "call", "x", now=NOW) == []
    shared = IceConfig.shared(["stun:stun.example.com"], CALL_POOL)
    assert ice_servers(shared, "avatar", "x", now=NOW) == ice_servers(shared, "call", "x", now=NOW)
    with pytest.raises(ValueError):
        ice_servers(CONFIG, "video", "x", now=NOW)  # type: ignore[arg-type]


def test_grant_carries_the_credential_to_schedule_its_refresh() -> None:
    issued = grant(CONFIG, "avatar", "x", now=NOW)
    assert issued.credential is not None
    assert issued.credential.username == issued.servers[-1]["username"]
    assert refresh_at(issued.credential, now=NOW) == 1_700_000_000 + 240


@pytest.mark.parametrize("urls", [(), ("stun:stun.example.com",), ("http://turn.example.com",),
                                  ("turn:turn.example.com?transport=sctp",)])
def test_a_pool_takes_only_turn_urls(urls: tuple[str, ...]) -> None:
    with pytest.raises(ValueError):
        TurnPool(urls, "secret")


def test_pool_needs_a_secret_and_stun_list_needs_stun_urls() -> None:
    with pytest.raises(ValueError):
        TurnPool(("turn:t.example.com",), "")
    with pytest.raises(ValueError):
        IceConfig(("turn:t.example.com",))


def test_secrets_never_show_in_repr_or_str() -> None:
    issued = grant(CONFIG, "call", "alice", now=NOW)
    assert issued.credential is not None
    texts = [repr(CONFIG), str(CONFIG), repr(CALL_POOL), str(AVATAR_POOL), repr(issued),
             repr(issued.credential), str(issued.credential)]
    for text in texts:
        for secret in ("call-secret-123", "avatar-secret-456", issued.credential.password):
            assert secret not in text
    assert "1700000600:alice" in repr(issued.credential)  # the username is fine to log
    fields = {f.name: f.repr for f in dataclasses.fields(TurnPool)}
    assert fields["secret"] is False


def test_aiortc_gets_one_stun_and_the_first_turn_url_it_supports() -> None:
    servers: list[dict[str, object]] = [
        {"urls": ["stuns:stun.example.com", "stun:stun1.example.com", "stun:stun2.example.com"]},
        {"urls": ["turn:[2001:db8::1]:3478", "turns:t.example.com:443?transport=udp",
                  "turns:t.example.com:443?transport=tcp", "turn:t.example.com:3478"],
         "username": "u", "credential": "p"},
    ]
    assert for_aiortc(servers) == [
        IceServer(urls=["stun:stun1.example.com"]),
        IceServer(urls=["turns:t.example.com:443?transport=tcp"], username="u", credential="p"),
    ]
    avatar = ice_servers(CONFIG, "avatar", "server", now=NOW)
    assert for_aiortc(avatar) == [
        IceServer(urls=["stun:stun.example.com:3478"]),
        IceServer(urls=["turn:turn-avatar.example.com:3478"], username=avatar[1]["username"],
                  credential=avatar[1]["credential"]),
    ]
    assert for_aiortc([IceServer(urls=["turn:t.example.com"])]) == []  # TURN without credentials


# --- coturn configuration --------------------------------------------------------------------

TURN_SECRET = "Zm9vYmFy-turn-secret"


def _parse_conf(text: str) -> list[tuple[str, str | None]]:
    """coturn's format: blank lines, '#' comments, and 'key' or 'key=value' lines."""
    entries: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*(=\S.*)?", line), line
        key, sep, value = line.partition("=")
        entries.append((key, value if sep else None))
    return entries


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _denied_ranges(entries: list[tuple[str, str | None]]) -> list[tuple[Address, Address]]:
    ranges = []
    for key, value in entries:
        if key == "denied-peer-ip":
            assert value is not None
            first, _, last = value.partition("-")
            ranges.append((ipaddress.ip_address(first), ipaddress.ip_address(last or first)))
    return ranges


def _denied(entries: list[tuple[str, str | None]], ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    return any(low.version == address.version and low <= address <= high  # type: ignore[operator]
               for low, high in _denied_ranges(entries))


# Every option name render_config may write, as listed by `turnserver -h` of coturn 4.6.1.
KNOWN_OPTIONS = {
    "listening-ip", "listening-port", "relay-ip", "external-ip", "min-port", "max-port",
    "tls-listening-port", "cert", "pkey", "no-tlsv1", "no-tlsv1_1", "no-tls", "no-dtls",
    "no-tcp-relay", "use-auth-secret", "static-auth-secret", "realm", "fingerprint", "stale-nonce",
    "no-dynamic-ip-list", "no-dynamic-realms", "no-auth-pings", "userdb", "no-cli",
    "no-software-attribute", "no-rfc5780", "no-stun-backward-compatibility",
    "response-origin-only-with-rfc5780", "user-quota", "total-quota", "max-bps",
    "max-allocate-lifetime", "no-multicast-peers", "allow-loopback-peers", "denied-peer-ip",
    "allowed-peer-ip", "log-file", "simple-log", "pidfile", "verbose",
}


def test_config_is_hardened() -> None:
    entries = _parse_conf(render_config("example.com", TURN_SECRET, "10.0.0.5",
                                        external_ip="203.0.113.7"))
    config = dict(entries)
    for flag in ("use-auth-secret", "fingerprint", "no-cli", "no-multicast-peers",
                 "no-software-attribute", "no-tcp-relay", "no-dtls", "no-tls"):
        assert flag in config and config[flag] is None, flag
    assert config["static-auth-secret"] == TURN_SECRET
    assert config["realm"] == "example.com"
    assert config["stale-nonce"] == "600"
    assert config["listening-ip"] == "10.0.0.5" and config["external-ip"] == "203.0.113.7"
    assert config["listening-port"] == "3478"
    assert (config["min-port"], config["max-port"]) == ("49152", "65535")
    assert config["log-file"] == "stdout"
    assert {"user-quota", "total-quota", "max-bps"} <= config.keys()
    assert config["max-allocate-lifetime"] == "120"  # a lost release frees its quota soon
    assert "allow-loopback-peers" not in config
    assert "lt-cred-mech" not in config and "no-auth" not in config
    assert {key for key, _ in entries} <= KNOWN_OPTIONS


@pytest.mark.parametrize("ip", [
    "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "127.0.0.1", "127.255.0.9", "::1",
    "169.254.169.254", "fe80::1", "fc00::1", "fd12:3456::1", "0.0.0.0", "100.64.0.1",
    "100.127.255.255", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
    # documentation, reserved, and IPv6 ranges that reach IPv4 (NAT64, 6to4)
    "192.0.2.1", "198.51.100.1", "203.0.113.9", "240.0.0.1", "255.255.255.255", "2001:db8::5",
    "64:ff9b::a00:1", "2002:a00:1::1",
    # the TURN host itself (its public and its own address)
    "8.8.4.4", "1.2.3.4",
])
def test_private_loopback_and_local_peers_are_denied(ip: str) -> None:
    config = render_config("r", TURN_SECRET, "1.2.3.4", external_ip="8.8.4.4")
    assert _denied(_parse_conf(config), ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1",
                                "2a00:1450:4007::5", "239.255.255.255"])
def test_public_peers_are_not_denied(ip: str) -> None:
    # (multicast, 239.x, is refused by no-multicast-peers, not by a range)
    config = render_config("r", TURN_SECRET, "1.2.3.4", external_ip="8.8.4.4")
    assert not _denied(_parse_conf(config), ip)


def test_no_denied_range_ends_at_an_unspecified_address() -> None:
    # coturn reads an all-zero upper bound as unbounded: such a range would deny every peer.
    for _, high in _denied_ranges(_parse_conf(render_config("r", TURN_SECRET, "127.0.0.1"))):
        assert not high.is_unspecified


def test_loopback_is_allowed_only_when_asked_for_tests() -> None:
    text = render_config("r", TURN_SECRET, "127.0.0.1", allow_loopback_peers=True)
    entries = _parse_conf(text)
    assert ("allow-loopback-peers", None) in entries
    assert not _denied(entries, "127.0.0.1") and not _denied(entries, "::1")
    assert _denied(entries, "10.0.0.1") and _denied(entries, "192.168.0.1")
    assert "TESTS ONLY" in text


def test_tls_is_optional_and_modern_only() -> None:
    config = dict(_parse_conf(render_config("r", TURN_SECRET, "203.0.113.7",
                                            tls_port=ice.DEFAULT_TLS_PORT,
                                            cert="/etc/turn/cert.pem", pkey="/etc/turn/key.pem")))
    assert config["tls-listening-port"] == "443"
    assert (config["cert"], config["pkey"]) == ("/etc/turn/cert.pem", "/etc/turn/key.pem")
    assert "no-tlsv1" in config and "no-tlsv1_1" in config and "no-tls" not in config
    with pytest.raises(ValueError):
        render_config("r", TURN_SECRET, "203.0.113.7", tls_port=443)  # no certificate


def test_allowed_peer_ips_punch_through_but_not_everything() -> None:
    config = _parse_conf(render_config("r", TURN_SECRET, "203.0.113.7",
                                       allowed_peer_ips=["10.0.0.8", "10.1.0.0-10.1.0.255"]))
    assert ("allowed-peer-ip", "10.0.0.8") in config
    assert ("allowed-peer-ip", "10.1.0.0-10.1.0.255") in config
    for bad in ("::", "0.0.0.0", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "example.com"):
        with pytest.raises(ValueError):
            render_config("r", TURN_SECRET, "203.0.113.7", allowed_peer_ips=[bad])


@pytest.mark.parametrize("kwargs", [
    {"secret": "abc\nno-auth"}, {"secret": ""}, {"realm": "r\nlt-cred-mech"}, {"secret": " padded"},
    {"listening_ip": "localhost"}, {"port": 0}, {"relay_min_port": 60000, "relay_max_port": 50000},
    {"user_quota": -1}, {"max_allocate_lifetime": 10},
    {"secret": "s" * 1005},  # coturn would cut that line at 1023 bytes
])
def test_values_cannot_inject_options(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"realm": "r", "secret": TURN_SECRET,
                                    "listening_ip": "127.0.0.1"}
    arguments.update(kwargs)
    with pytest.raises(ValueError):
        render_config(**arguments)  # type: ignore[arg-type]


def test_the_package_exports_what_it_says() -> None:
    assert sorted(ice.__all__) == sorted(set(ice.__all__))
    for name in ice.__all__:
        assert hasattr(ice, name), name
