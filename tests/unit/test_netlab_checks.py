"""The lab tells a person's ICE checks inside TURN from their media (``Lab.lose_checks``):
messages made by aioice, as a browser's ICE agent sends them."""

from __future__ import annotations

import struct

from aioice import stun

from avatarcall.testing.netlab import carries_check


def _stun(method: stun.Method, kind: stun.Class, **attributes: object) -> bytes:
    message = stun.Message(message_method=method, message_class=kind)
    for name, value in attributes.items():
        message.attributes[name.replace("_", "-")] = value
    return bytes(message)


CHECK = _stun(stun.Method.BINDING, stun.Class.REQUEST, USERNAME="a:b", PRIORITY=1)
ANSWER = _stun(stun.Method.BINDING, stun.Class.RESPONSE, XOR_MAPPED_ADDRESS=("10.0.0.1", 5000))
RTP = bytes([0x80, 0x60]) + bytes(170)


def _channel(data: bytes, channel: int = 0x4001) -> bytes:
    return struct.pack("!HH", channel, len(data)) + data


def _send(data: bytes) -> bytes:
    return _stun(stun.Method.SEND, stun.Class.INDICATION,
                 XOR_PEER_ADDRESS=("10.0.0.2", 40000), DATA=data)


def test_a_check_is_found_in_a_channel_or_a_send_indication() -> None:
    assert carries_check(_channel(CHECK))
    assert carries_check(_send(CHECK))


def test_media_answers_and_the_turn_server_s_own_messages_go_through() -> None:
    assert not carries_check(_channel(RTP))
    assert not carries_check(_send(RTP))
    assert not carries_check(_channel(ANSWER))  # the other side's checks are still answered
    assert not carries_check(_send(ANSWER))
    assert not carries_check(CHECK)  # to the TURN server itself (its STUN use)
    assert not carries_check(_stun(stun.Method.REFRESH, stun.Class.REQUEST, LIFETIME=600))
    assert not carries_check(b"")
    assert not carries_check(_channel(b"\x00\x01"))
