"""The pure parts of the second hardening round: sign-in limits that cannot lock an agent out,
where the server's links may send, which Host names it answers to, closed metric labels, page
timings held to what the server saw, one live socket per participant."""

from __future__ import annotations

import pytest

from avatarcall.calls import Role
from avatarcall.errors import known_code
from avatarcall.ice.peers import PeerNetworks
from avatarcall.signaling import messages as m
from avatarcall.testing.flow import FlowHarness
from avatarcall.web.hosts import AllowedHosts, host_of
from avatarcall.web.ratelimit import SignInGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(guard: SignInGuard, name: str, address: str) -> int | None:
    wait = guard.retry_after(name, address)
    if wait is None:
        guard.attempt(name, address)
    return wait


def test_a_guesser_at_one_address_is_slowed_and_the_agent_elsewhere_is_not() -> None:
    guard = SignInGuard(per_pair=5, per_address=50, alarm=20, window=300, clock=Clock())
    for _ in range(5):
        assert _fail(guard, "dave", "198.51.100.7") is None
    assert guard.retry_after("dave", "198.51.100.7") is not None  # that address waits
    assert guard.retry_after("dave", "203.0.113.5") is None  # dave from the office: a try
    assert guard.retry_after("erin", "198.51.100.7") is None  # others from there: tries


def test_many_addresses_guessing_one_account_get_one_try_each_and_the_agent_still_gets_in() -> None:
    guard = SignInGuard(per_pair=5, per_address=50, alarm=20, window=300, clock=Clock())
    for i in range(20):
        assert _fail(guard, "dave", f"192.0.2.{i}") is None
    assert _fail(guard, "dave", "192.0.2.200") is None  # a fresh address: one try...
    assert guard.retry_after("dave", "192.0.2.200") is not None  # ...and no second
    assert guard.retry_after("dave", "203.0.113.5") is None  # the real agent: still a try
    guard.attempt("dave", "203.0.113.5")
    guard.succeeded("dave", "203.0.113.5")
    assert guard.retry_after("dave", "203.0.113.5") is None


def test_a_team_behind_one_nat_is_not_locked_out_by_a_few_typos() -> None:
    guard = SignInGuard(per_pair=5, per_address=50, alarm=20, window=300, clock=Clock())
    for i in range(30):  # thirty agents each mistype once
        assert _fail(guard, f"agent{i}", "203.0.113.1") is None
    assert guard.retry_after("agent31", "203.0.113.1") is None
    for i in range(20):  # one address spraying names is stopped
        _fail(guard, f"name{i}", "203.0.113.1")
    assert guard.retry_after("agent31", "203.0.113.1") is not None


def test_the_window_forgives() -> None:
    clock = Clock()
    guard = SignInGuard(per_pair=2, per_address=50, alarm=20, window=60, clock=clock)
    _fail(guard, "dave", "198.51.100.7")
    _fail(guard, "dave", "198.51.100.7")
    wait = guard.retry_after("dave", "198.51.100.7")
    assert wait is not None and wait <= 60
    clock.now += 61
    assert guard.retry_after("dave", "198.51.100.7") is None


@pytest.mark.parametrize(("address", "allowed"), [
    ("8.8.8.8", True), ("10.1.2.3", True), ("192.168.1.20", True), ("fd00::2", True),
    ("2a00:1450:4007::5", True), ("abcd-1234.local", True),
    ("127.0.0.1", False), ("::1", False), ("169.254.169.254", False), ("fe80::1", False),
    ("224.0.0.251", False), ("0.0.0.0", False), ("192.0.2.2", False), ("evil.example", False),
])
def test_the_servers_links_contact_public_and_private_addresses_only(address: str,
                                                                     allowed: bool) -> None:
    assert PeerNetworks().allows(address) is allowed


def test_refused_candidates_are_taken_out_of_an_offer() -> None:
    sdp = ("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
           "a=candidate:1 1 udp 2122260223 127.0.0.1 19999 typ host\r\n"
           "a=candidate:2 1 udp 2122260223 10.0.0.7 50000 typ host\r\n"
           "a=candidate:3 1 udp 1686052607 169.254.169.254 80 typ srflx raddr 0.0.0.0 rport 0\r\n"
           "a=candidate:bad\r\n"
           "a=end-of-candidates\r\n")
    kept, dropped = PeerNetworks().filter_sdp(sdp)
    assert dropped == 3
    assert "10.0.0.7" in kept and "127.0.0.1" not in kept and "169.254" not in kept
    assert kept.endswith("a=end-of-candidates\r\n")
    loopback, dropped = PeerNetworks(["127.0.0.0/8"]).filter_sdp(sdp)  # as tests configure it
    assert "127.0.0.1 19999" in loopback and dropped == 3


@pytest.mark.parametrize(("header", "allowed"), [
    ("calls.example.com", True), ("calls.example.com:8443", True), ("LOCALHOST:8080", True),
    ("127.0.0.1:8080", True), ("[::1]:8080", True), ("192.0.2.2", True),
    ("evil.example", False), ("evil.example:8080", False), ("calls.example.com.evil.example", False),
    ("", False), (None, False),
])
def test_the_server_answers_to_its_own_names_and_ip_addresses_only(header: str | None,
                                                                   allowed: bool) -> None:
    hosts = AllowedHosts(app=None, names=["calls.example.com", "localhost"])  # type: ignore[arg-type]
    assert hosts.allows(header) is allowed
    assert host_of("[::1]:8080") == "::1"


def test_metric_labels_come_from_a_closed_set() -> None:
    assert known_code("avatar_busy") == "avatar_busy"  # ours
    assert known_code("avatar_timeout") == "avatar_timeout"  # our pages'
    assert known_code("x" * 60) == known_code("made_up_code") == known_code(None) == "other"


async def test_a_page_cannot_falsify_the_report_with_its_timings() -> None:
    """Audit finding: back-dated events and 3600 s connect times entered the report's tables."""
    h = FlowHarness()
    call, customer = await h.customer()
    h.now += 5  # the call is 5 s old
    await customer.send({"type": "telemetry", "call_id": call.id, "sent_at": h.now * 1000,
                         "events": [
                             {"at": (h.now - 3600) * 1000, "link": "avatar", "kind": "live",
                              "elapsed_ms": 3_600_000},
                             {"at": (h.now - 1) * 1000, "link": "avatar", "kind": "starting"}]})
    live, starting = [e for e in h.records.events if e.kind in ("avatar.live", "avatar.starting")]
    assert "elapsed_ms" not in live.detail and live.detail["implausible"] is True
    assert live.at >= call.created_at  # not back-dated before the call
    assert starting.at == pytest.approx(h.now - 1)  # on the server's clock
    exposition = h.metrics.exposition().decode()
    assert 'avatarcall_telemetry_rejected_total{code="implausible"} 1.0' in exposition
    assert "avatarcall_first_frame_seconds_count" not in exposition or \
        'avatarcall_first_frame_seconds_count{link="avatar"} 0.0' in exposition
    # A plausible one counts.
    await customer.send({"type": "telemetry", "call_id": call.id, "sent_at": h.now * 1000,
                         "events": [{"at": h.now * 1000, "link": "avatar", "kind": "live",
                                     "elapsed_ms": 900}]})
    assert 'avatarcall_first_frame_seconds_count{link="avatar"} 1.0' in h.metrics.exposition().decode()


async def test_a_page_with_a_skewed_clock_is_put_on_the_servers() -> None:
    h = FlowHarness()
    call, customer = await h.customer()
    h.now += 10
    skew = -300  # the page's clock is five minutes behind
    await customer.send({"type": "telemetry", "call_id": call.id, "sent_at": (h.now + skew) * 1000,
                         "events": [{"at": (h.now + skew - 2) * 1000, "link": "call",
                                     "kind": "created"}]})
    created = next(e for e in h.records.events if e.kind == "call.created")
    assert created.at == pytest.approx(h.now - 2)


async def test_one_live_socket_per_participant_the_newer_wins() -> None:
    h = FlowHarness()
    call, first = await h.customer()
    second = await h.connect(Role.CUSTOMER, "Zoé", call.id)
    assert first.outlet.was_replaced and not second.outlet.closed
    assert await h.bus.holder(call.id, Role.CUSTOMER) == second.tab.id
    await first.leave()  # the older socket closing changes nothing
    assert await h.bus.present(call.id, Role.CUSTOMER)
    assert second.last(m.Welcome).call.call_id == call.id


def test_the_load_balancer_configuration_checks_readiness_and_cuts_dead_nodes() -> None:
    from avatarcall.lbconfig import render_haproxy

    text = render_haproxy(["10.0.0.1:8080", "10.0.0.2:8080"], port=443, cert="/etc/ssl/ac.pem")
    assert "bind :443 ssl crt /etc/ssl/ac.pem" in text
    assert "uri /readyz" in text and "on-marked-down shutdown-sessions" in text
    assert "server node1 10.0.0.1:8080 check" in text and "server node2 10.0.0.2:8080" in text
    assert "timeout tunnel" in text  # WebSockets stay open
    for bad in (["10.0.0.1"], ["evil host:80"], ["a:99999"], []):
        with pytest.raises(ValueError):
            render_haproxy(bad)
