"""The signaling WebSocket against a real server: bad input gets a stable error code, and neither
the connection nor the call suffers from it; strangers are turned away; a call can be taken,
signalled and ended.
"""

from __future__ import annotations

import base64
import json

from aiortc import RTCPeerConnection

from avatarcall.testing.server import DEMO_AGENT, Server
from avatarcall.testing.signaling import (
    CLOSE_UNAUTHENTICATED,
    accepted_call,
    agent,
    agent_cookie,
    assert_healthy,
    assert_relayed,
    customer,
    new_call,
    receive,
    refused,
    rejected,
    send,
    until_pong,
    waiting_call_ids,
    ws_url,
)

# --- bad input ------------------------------------------------------------------------

MALFORMED: list[tuple[str | bytes, str]] = [
    ("{not json", "bad_message"),
    ("", "bad_message"),
    ("[1, 2]", "bad_message"),
    ("null", "bad_message"),
    ('"ping"', "bad_message"),
    ("{}", "bad_message"),
    ('{"call_id": "abc"}', "bad_message"),
    ('{"type": "call.hold", "call_id": "abc"}', "unknown_type"),
    ('{"type": 42}', "unknown_type"),
    ('{"type": null}', "unknown_type"),
    ('{"type": "call.accept", "call_id": 5}', "bad_message"),
    ('{"type": "call.accept"}', "bad_message"),
    ('{"type": "call.accept", "call_id": "../../etc"}', "bad_message"),
    ('{"type": "call.end", "call_id": ["a"]}', "bad_message"),
    ('{"type": "ping", "extra": true}', "bad_message"),
    ('{"type": "link.state", "call_id": "abc", "link": "call", "state": "melted"}', "bad_message"),
    ('{"type": "avatar.offer", "call_id": "abc", "epoch": "one", "sdp": "v=0"}', "bad_message"),
    ('{"type": "avatar.offer", "call_id": "abc", "epoch": -1, "sdp": "v=0"}', "bad_message"),
    ('{"type": "avatar.say", "call_id": "abc", "text": ""}', "bad_message"),
    ('{"type": "call.signal", "call_id": "abc", "description": {"type": "hello"}}', "bad_message"),
    ('{"type": "call.signal", "call_id": "abc", "candidate": {"candidate": 1}}', "bad_message"),
]


async def test_malformed_messages_from_a_customer_are_answered_and_harm_nothing(
        server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    async with customer(server, ticket) as ws:
        for raw, code in MALFORMED:
            error = await rejected(ws, raw, code)
            assert error.get("retryable") is False
        assert ticket["call_id"] in await waiting_call_ids(server, cookie)
    await assert_healthy(server)


async def test_malformed_messages_from_an_agent_are_answered_and_harm_nothing(
        server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    async with customer(server, ticket) as ws_customer, agent(server, cookie) as ws_agent:
        for raw, code in MALFORMED:
            await rejected(ws_agent, raw, code)
        # Both the agent's socket and the waiting call are as good as before.
        assert ticket["call_id"] in await waiting_call_ids(server, cookie)
        await accepted_call(server, cookie, ws_agent, ws_customer, ticket["call_id"])
    await assert_healthy(server)


async def test_a_binary_frame_is_answered_like_any_other_bad_message(server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    async with customer(server, ticket) as ws:
        await rejected(ws, b'{"type": "ping"}', "bad_message")
        assert ticket["call_id"] in await waiting_call_ids(server, cookie)


async def test_an_unknown_type_error_names_the_type(server: Server) -> None:
    ticket = await new_call(server)
    async with customer(server, ticket) as ws:
        error = await rejected(ws, {"type": "call.hold", "call_id": ticket["call_id"]},
                               "unknown_type")
        assert "call.hold" in error["message"]


async def test_unknown_call_ids_are_reported_as_such(server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    nobody = "nosuchcall0000"
    async with customer(server, ticket) as ws_customer, agent(server, cookie) as ws_agent:
        for ws in (ws_agent, ws_customer):
            for message in (
                {"type": "call.end", "call_id": nobody},
                {"type": "call.signal", "call_id": nobody, "candidate": {"candidate": ""}},
                {"type": "link.state", "call_id": nobody, "link": "call", "state": "connected"},
                {"type": "avatar.restart", "call_id": nobody},
            ):
                error = await rejected(ws, message, "unknown_call")
                assert error["request"] == message["type"]
        error = await rejected(ws_agent, {"type": "call.accept", "call_id": nobody}, "unknown_call")
        assert error["request"] == "call.accept"
        assert ticket["call_id"] in await waiting_call_ids(server, cookie)
        await accepted_call(server, cookie, ws_agent, ws_customer, ticket["call_id"])
        await assert_relayed(ws_customer, ws_agent, ticket["call_id"],
                             "candidate:1 1 udp 1 x 9 typ host")
    await assert_healthy(server)


async def test_a_customer_cannot_touch_another_customers_call(server: Server) -> None:
    cookie = await agent_cookie(server)
    mine, theirs = await new_call(server), await new_call(server)
    async with customer(server, mine) as ws_mine, customer(server, theirs) as ws_theirs:
        for message in (
            {"type": "call.end", "call_id": theirs["call_id"]},
            {"type": "call.signal", "call_id": theirs["call_id"],
             "description": {"type": "offer", "sdp": "v=0\r\n"}},
            {"type": "link.state", "call_id": theirs["call_id"], "link": "call", "state": "failed"},
            {"type": "avatar.offer", "call_id": theirs["call_id"], "epoch": 1, "sdp": "v=0"},
            {"type": "avatar.say", "call_id": theirs["call_id"], "text": "You owe us money."},
            {"type": "avatar.plan.set", "call_id": theirs["call_id"], "during": "off"},
            {"type": "avatar.restart", "call_id": theirs["call_id"]},
        ):
            if message["type"] == "avatar.offer":  # answered off the message loop
                await send(ws_mine, message)
                error = await receive(ws_mine, "error")
                assert error["code"] == "not_allowed"
                assert not await until_pong(ws_mine)
            else:
                error = await rejected(ws_mine, message, "not_allowed")
            assert error["request"] == message["type"]
        # The other customer heard nothing of it, and both calls are still waiting.
        # (Their own waiting goes on: their avatar, place in line, the greeting's captions,
        # and their conversation with the assistant — still empty.)
        heard = await until_pong(ws_theirs)
        own = ("avatar.view", "queue.position", "avatar.caption", "conversation.history")
        assert not [m for m in heard if m["type"] not in own]
        assert not [m for m in heard if m["type"] == "conversation.history" and m["items"]]
        assert not [m for m in heard if "owe" in m.get("text", "")]
        assert {mine["call_id"], theirs["call_id"]} <= await waiting_call_ids(server, cookie)
    await assert_healthy(server)


async def test_a_customer_cannot_send_what_only_an_agent_may(server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket, other = await new_call(server), await new_call(server)
    call_id = ticket["call_id"]
    async with customer(server, ticket) as ws:
        for message in (
            {"type": "avatar.plan.set", "call_id": call_id, "during": "off", "after": "off"},
            {"type": "avatar.say", "call_id": call_id, "text": "I am the agent now."},
            {"type": "avatar.restart", "call_id": call_id},
            {"type": "call.accept", "call_id": call_id},
            {"type": "call.accept", "call_id": other["call_id"]},
        ):
            error = await rejected(ws, message, "not_allowed")
            assert error["request"] == message["type"]
        assert {call_id, other["call_id"]} <= await waiting_call_ids(server, cookie)
        # Nor may a customer signal the call link before an agent has taken the call.
        await rejected(ws, {"type": "call.signal", "call_id": call_id,
                            "candidate": {"candidate": ""}}, "not_allowed")
        async with agent(server, cookie) as ws_agent:
            await accepted_call(server, cookie, ws_agent, ws, call_id)
            # In a call that is on, the customer is still no agent.
            await rejected(ws, {"type": "avatar.plan.set", "call_id": call_id, "during": "off"},
                           "not_allowed")
            await rejected(ws, {"type": "avatar.say", "call_id": call_id, "text": "Hi"},
                           "not_allowed")
            await assert_relayed(ws, ws_agent, call_id, "candidate:2 1 udp 1 y 9 typ host")
    await assert_healthy(server)


async def test_a_second_agent_tab_cannot_take_a_call_already_taken(server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    call_id = ticket["call_id"]
    async with (customer(server, ticket) as ws_customer,
                agent(server, cookie) as first, agent(server, cookie) as second):
        await accepted_call(server, cookie, first, ws_customer, call_id)
        error = await rejected(second, {"type": "call.accept", "call_id": call_id}, "call_taken")
        assert error["request"] == "call.accept"
        # The second tab does not own the call either, so it cannot end or signal it.
        await rejected(second, {"type": "call.end", "call_id": call_id}, "not_allowed")
        await rejected(second, {"type": "call.signal", "call_id": call_id,
                                "candidate": {"candidate": ""}}, "not_allowed")
        # Taking it again from the tab that has it is no better.
        await rejected(first, {"type": "call.accept", "call_id": call_id}, "call_taken")
        # Nor may that tab take a second customer while it has one; that customer keeps waiting.
        other = await new_call(server)
        error = await rejected(first, {"type": "call.accept", "call_id": other["call_id"]},
                               "not_allowed")
        assert error["request"] == "call.accept"
        assert other["call_id"] in await waiting_call_ids(server, cookie)
        # The call is still on between the first tab and the customer.
        await assert_relayed(first, ws_customer, call_id, "candidate:3 1 udp 1 z 9 typ host")
        await assert_relayed(ws_customer, first, call_id, "candidate:4 1 udp 1 w 9 typ host")
        assert call_id not in await waiting_call_ids(server, cookie)
    await assert_healthy(server)


async def test_a_garbage_avatar_offer_is_refused_as_bad_sdp(server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    call_id = ticket["call_id"]
    async with customer(server, ticket) as ws:
        view = await receive(ws, "avatar.view", call_id=call_id)
        assert view["view"] == "stream"
        epoch = view["epoch"]
        for sdp in ("this is not sdp", "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"):
            await send(ws, {"type": "avatar.offer", "call_id": call_id, "epoch": epoch, "sdp": sdp})
            error = await receive(ws, "error")
            assert (error["code"], error["request"]) == ("bad_sdp", "avatar.offer")
            assert not await until_pong(ws)
        # An offer for an avatar session that is not the current one is told to wait for the next.
        await send(ws, {"type": "avatar.offer", "call_id": call_id, "epoch": epoch + 100,
                        "sdp": "v=0"})
        error = await receive(ws, "error")
        assert (error["code"], error["retryable"]) == ("avatar_unavailable", True)
        # The avatar still answers a real offer afterwards.
        pc = RTCPeerConnection()
        try:
            pc.addTransceiver("video", direction="recvonly")
            pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            await send(ws, {"type": "avatar.offer", "call_id": call_id, "epoch": epoch,
                            "sdp": pc.localDescription.sdp})
            answer = await receive(ws, "avatar.answer")
            assert answer["epoch"] == epoch and answer["sdp"].startswith("v=0")
        finally:
            await pc.close()
        assert call_id in await waiting_call_ids(server, cookie)
    await assert_healthy(server)


# --- strangers ------------------------------------------------------------------------


async def test_a_socket_without_credentials_is_refused(server: Server) -> None:
    assert await refused(ws_url(server)) == ("unauthenticated", CLOSE_UNAUTHENTICATED)
    assert await refused(ws_url(server, "")) == ("unauthenticated", CLOSE_UNAUTHENTICATED)
    await assert_healthy(server)


async def test_forged_tokens_and_cookies_are_refused(server: Server) -> None:
    cookie = await agent_cookie(server)
    ticket = await new_call(server)
    body, mac = ticket["token"].split(".")
    tampered_body = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    tampered_body["call"] = "someoneelse0000"
    forged_body = base64.urlsafe_b64encode(
        json.dumps(tampered_body, separators=(",", ":")).encode()).rstrip(b"=").decode()
    forged_tokens = [
        "garbage",
        "abc.def",
        "....",
        f"{forged_body}.{mac}",  # someone else's call under this call's signature
        f"{body}.{mac[:-2]}AA",  # a signature that does not match
        cookie,  # an agent's session is no customer link
    ]
    for token in forged_tokens:
        outcome = await refused(ws_url(server, token))
        assert outcome == ("token_invalid", CLOSE_UNAUTHENTICATED), token
    for forged in ("garbage", f"{body}.{mac}", cookie[:-3] + "AAA"):
        headers = {"Cookie": f"avatarcall_agent={forged}"}
        assert await refused(ws_url(server), headers) == ("token_invalid", CLOSE_UNAUTHENTICATED)
    # The real token still works, and the call is untouched.
    async with customer(server, ticket) as ws:
        assert not [m for m in await until_pong(ws) if m["type"] == "error"]
    assert ticket["call_id"] in await waiting_call_ids(server, cookie)
    await assert_healthy(server)


# --- the happy path -------------------------------------------------------------------


async def test_an_agent_takes_signals_and_ends_a_call(server: Server) -> None:
    cookie = await agent_cookie(server)
    async with agent(server, cookie) as ws_agent:
        ticket = await new_call(server, "fr-FR")
        call_id = ticket["call_id"]
        assert ticket["language"].startswith("fr")
        async with customer(server, ticket) as ws_customer:
            queue = await receive(ws_agent, "queue")
            while call_id not in {item["call_id"] for item in queue["items"]}:
                queue = await receive(ws_agent, "queue")
            item = next(i for i in queue["items"] if i["call_id"] == call_id)
            assert item["language"] == ticket["language"]

            await send(ws_agent, {"type": "call.accept", "call_id": call_id})
            for ws, role, polite in ((ws_agent, "agent", False), (ws_customer, "customer", True)):
                started = await receive(ws, "call.started")
                assert started["polite"] is polite
                assert started["call"]["call_id"] == call_id
                assert started["call"]["role"] == role
                assert started["call"]["state"] == "connecting"
                assert started["call"]["agent"] == DEMO_AGENT[0]

            offer = {"type": "offer", "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
            await send(ws_agent, {"type": "call.signal", "call_id": call_id, "description": offer})
            relayed = await receive(ws_customer, "call.signal")
            assert relayed == {"type": "call.signal", "call_id": call_id, "description": offer,
                               "seq": relayed["seq"]}  # numbered, for a page that comes back
            assert isinstance(relayed["seq"], int)
            await assert_relayed(ws_customer, ws_agent, call_id, "candidate:5 1 udp 1 v 9 typ host")

            await send(ws_agent, {"type": "call.end", "call_id": call_id})
            for ws in (ws_agent, ws_customer):
                ended = await receive(ws, "call.state", call_id=call_id)
                assert ended["state"] == "ended"
                assert ended["reason"] == "agent_hung_up"
            # The agent is free again; signalling the ended call is refused.
            await rejected(ws_agent, {"type": "call.signal", "call_id": call_id,
                                      "description": offer}, "not_allowed")
            await rejected(ws_customer, {"type": "call.signal", "call_id": call_id,
                                         "description": offer}, "not_allowed")
    assert call_id not in await waiting_call_ids(server, cookie)
    await assert_healthy(server)


# --- last: the server took all of the above in its stride -----------------------------


async def test_the_server_is_still_healthy(server: Server) -> None:
    await assert_healthy(server)
