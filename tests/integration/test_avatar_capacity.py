"""A server that may render only so many avatars (``max_avatar_sessions``): the next call still
goes on, its pages show the local animation, and it gets a real avatar as soon as one is free."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from avatarcall.testing.server import Server, start_server
from avatarcall.testing.signaling import (
    accepted_call,
    agent,
    agent_cookie,
    customer,
    new_call,
    receive,
    rejected,
    send,
)


@pytest.fixture(scope="module")
def one_avatar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("one-avatar"), AVATARCALL_MAX_AVATAR_SESSIONS="1")
    yield srv
    srv.stop()


async def test_past_the_last_free_avatar_calls_go_on_and_get_one_when_it_frees(
        one_avatar: Server) -> None:
    first, second = await new_call(one_avatar), await new_call(one_avatar)  # both in the queue
    async with customer(one_avatar, second) as ws_second:
        view = await receive(ws_second, "avatar.view")
        assert (view["view"], view["epoch"]) == ("overlay", 0)  # the local animation meanwhile
        cookie = await agent_cookie(one_avatar)
        async with agent(one_avatar, cookie) as ws_agent:
            # The call itself is not held up, and the agent is told why the avatar is silent.
            await accepted_call(one_avatar, cookie, ws_agent, ws_second, second["call_id"])
            assert (await receive(ws_agent, "avatar.view"))["view"] == "overlay"
            error = await rejected(ws_agent, {"type": "avatar.say", "call_id": second["call_id"],
                                              "text": "Bonjour"}, "avatar_busy")
            assert error["request"] == "avatar.say"
            async with customer(one_avatar, first) as ws_first:
                assert (await receive(ws_first, "avatar.view"))["view"] == "stream"
                await send(ws_first, {"type": "call.end", "call_id": first["call_id"]})
                await receive(ws_first, "call.state", state="ended")
            # The first customer has gone: their avatar's place goes to the call in line.
            for ws in (ws_second, ws_agent):
                view = await receive(ws, "avatar.view", view="stream")
                assert view["epoch"] > 0
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{one_avatar.url}/metrics")).text
        assert 'avatarcall_errors_total{code="avatar_busy",source="server"} 1.0' in metrics
