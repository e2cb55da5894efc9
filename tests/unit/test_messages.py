"""The signaling edge: every client message parses, anything else is a readable BadMessage."""

from __future__ import annotations

import json

import pytest

from avatarcall.calls import AfterMode, AvatarView, CallState, DuringMode
from avatarcall.errors import BadMessage
from avatarcall.signaling import messages as m

CLIENT = [
    ({"type": "ping"}, m.Ping),
    ({"type": "call.accept", "call_id": "abc123"}, m.AcceptCall),
    ({"type": "call.end", "call_id": "abc-1_2"}, m.EndCall),
    ({"type": "call.signal", "call_id": "c1",
      "description": {"type": "offer", "sdp": "v=0\r\n"}}, m.CallSignal),
    ({"type": "call.signal", "call_id": "c1",
      "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
                    "sdpMid": "0", "sdpMLineIndex": 0}}, m.CallSignal),
    ({"type": "link.state", "call_id": "c1", "link": "avatar", "state": "failed"}, m.LinkState),
    ({"type": "avatar.offer", "call_id": "c1", "epoch": 3, "sdp": "v=0\r\n"}, m.AvatarOffer),
    ({"type": "avatar.plan.set", "call_id": "c1", "during": "overlay"}, m.SetAvatarPlan),
    ({"type": "avatar.say", "call_id": "c1", "text": "Bonjour !"}, m.AvatarSay),
    ({"type": "avatar.restart", "call_id": "c1"}, m.AvatarRestart),
]


@pytest.mark.parametrize(("data", "cls"), CLIENT, ids=[d["type"] for d, _ in CLIENT])
def test_each_client_message_parses(data: dict, cls: type) -> None:
    raw = json.dumps(data)
    for frame in (raw, raw.encode()):
        msg = m.parse_client_message(frame)
        assert type(msg) is cls
        assert msg.model_dump(exclude_unset=True, mode="json") == data


def test_parsed_fields_are_typed() -> None:
    msg = m.parse_client_message('{"type":"avatar.plan.set","call_id":"c1","after":"off"}')
    assert msg.after is AfterMode.OFF and msg.during is None


def bad(raw: str | bytes, code: str = "bad_message") -> str:
    with pytest.raises(BadMessage) as info:
        m.parse_client_message(raw)
    assert info.value.code == code
    assert info.value.message and str(info.value) == info.value.message
    return info.value.message


@pytest.mark.parametrize("raw", ["{", "", "not json", b"\xff\xfe", "[]", "42", "null"])
def test_malformed_json_or_not_an_object(raw: str | bytes) -> None:
    bad(raw)


def test_missing_type() -> None:
    assert "type" in bad('{"call_id": "c1"}')


def test_unknown_type() -> None:
    assert "'call.dance'" in bad('{"type": "call.dance"}', code="unknown_type")


def test_extra_field_is_named() -> None:
    assert "shout" in bad('{"type": "ping", "shout": true}')


def test_extra_field_in_nested_description() -> None:
    msg = bad(json.dumps({"type": "call.signal", "call_id": "c1",
                          "description": {"type": "offer", "sdp": "", "x": 1}}))
    assert "description" in msg


def test_missing_required_field_is_named() -> None:
    assert "call_id" in bad('{"type": "call.accept"}')


@pytest.mark.parametrize("data", [
    {"type": "avatar.offer", "call_id": "c1", "epoch": 0, "sdp": "x" * (m.MAX_SDP + 1)},
    {"type": "call.signal", "call_id": "c1",
     "description": {"type": "offer", "sdp": "x" * (m.MAX_SDP + 1)}},
])
def test_oversized_sdp(data: dict) -> None:
    assert "sdp" in bad(json.dumps(data))


def test_sdp_at_the_limit_is_accepted() -> None:
    data = {"type": "avatar.offer", "call_id": "c1", "epoch": 0, "sdp": "x" * m.MAX_SDP}
    assert len(m.parse_client_message(json.dumps(data)).sdp) == m.MAX_SDP


@pytest.mark.parametrize("call_id", ["", "a b", "../etc", "é", "x" * 65, 12])
def test_bad_call_id(call_id: object) -> None:
    assert "call_id" in bad(json.dumps({"type": "call.end", "call_id": call_id}))


@pytest.mark.parametrize("data", [
    {"type": "avatar.offer", "call_id": "c1", "epoch": -1, "sdp": "v=0"},
    {"type": "link.state", "call_id": "c1", "link": "call", "state": "sleepy"},
    {"type": "avatar.say", "call_id": "c1", "text": ""},
    {"type": "avatar.plan.set", "call_id": "c1", "during": "upside-down"},
])
def test_out_of_range_values(data: dict) -> None:
    bad(json.dumps(data))


def snapshot() -> m.CallSnapshot:
    return m.CallSnapshot(call_id="c1", state=CallState.CONNECTED, role="agent", language="fr",
                          during=DuringMode.BESIDE, after=AfterMode.CONCLUSION, customer="Zoé")


SERVER = [
    (m.Welcome(role="agent", name="alice", ice_servers_call=[], ice_servers_avatar=[]), "welcome"),
    (m.Pong(), "pong"),
    (m.QueueUpdate(items=[m.QueueItem(call_id="c1", customer="Zoé", language="fr",
                                      waiting_since=1.0)]), "queue"),
    (m.CallStarted(call=snapshot(), polite=True), "call.started"),
    (m.CallStateChanged(call_id="c1", state=CallState.ENDED, reason="hang_up"), "call.state"),
    (m.CallSignalOut(call_id="c1", candidate=m.IceCandidate(candidate="c")), "call.signal"),
    (m.AvatarViewChanged(call_id="c1", view=AvatarView.STREAM, epoch=2,
                         during=DuringMode.OFF, after=AfterMode.OFF), "avatar.view"),
    (m.AvatarAnswer(call_id="c1", epoch=2, sdp="v=0"), "avatar.answer"),
    (m.AvatarFailed(call_id="c1", epoch=2, code="avatar_crashed", message="m",
                    retryable=True), "avatar.error"),
    (m.ErrorMessage(code="bad_message", message="m", request="ping"), "error"),
]


@pytest.mark.parametrize(("msg", "type_"), SERVER, ids=[t for _, t in SERVER])
def test_server_message_serialises_with_its_type(msg: m._Message, type_: str) -> None:
    data = json.loads(msg.model_dump_json())
    assert data["type"] == type_
    assert type(msg).model_validate(data) == msg


def test_server_enums_serialise_as_strings() -> None:
    data = json.loads(m.CallStarted(call=snapshot(), polite=False).model_dump_json())
    assert data["call"]["state"] == "connected" and data["call"]["during"] == "beside"
