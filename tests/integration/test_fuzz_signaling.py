"""Property-based fuzzing of every client message type over a real WebSocket: valid-looking and
broken variants of each model in ``signaling/messages.py``, from customers and agents, in a
waiting call, a call that is on, and the lobby. Every reply is a documented server message or an
``error`` with a code; the socket stays open; the server never fails inside.

The per-socket message rate is raised on this server so that every case reaches the handlers
(the rate limit itself is tested in test_security.py).
"""

from __future__ import annotations

import json
import typing
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from avatarcall.errors import BadMessage
from avatarcall.signaling import messages as m
from avatarcall.testing.server import DEMO_AGENT, Server, start_server

MODELS: list[type[m._Message]] = list(typing.get_args(typing.get_args(m.ClientMessage)[0]))
SERVER_TYPES = {typing.get_args(cls.model_fields["type"].annotation)[0]
                for cls in typing.get_args(m.ServerMessage)}
EXAMPLES_PER_TYPE = 250
OWN, OTHER, UNKNOWN = "@own@", "@other@", "@unknown@"  # call ids, resolved per sender
TIMEOUT = 15.0


class World:
    """A waiting call, a call that is on, an agent in it and one in the lobby. When a case ends a
    call or has the lobby agent take one, the next case gets a fresh world (new calls, sockets)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.sockets: dict[str, ClientConnection] = {}
        self.waiting = self.active = ""
        self.seen: Counter[str] = Counter()
        self.cases: Counter[str] = Counter()
        self.failures = 0
        self.rebuilds = 0
        self.stale = True
        self._stack = ExitStack()
        with httpx.Client(base_url=server.url) as http:
            self.cookie = http.post("/api/login", json=dict(zip(("name", "password"), DEMO_AGENT))
                                    ).cookies["avatarcall_agent"]

    def _open(self, token: str | None = None) -> ClientConnection:
        url = self.server.url.replace("http", "ws", 1) + "/ws" + (f"?token={token}" if token else "")
        headers = None if token else {"Cookie": f"avatarcall_agent={self.cookie}"}
        # No keepalive: its pings draw from Python's `random` in the client's thread, which
        # Hypothesis takes for a strategy using `random` when one lands during a draw.
        ws = self._stack.enter_context(connect(
            url, additional_headers=headers, open_timeout=TIMEOUT, ping_interval=None))
        assert json.loads(ws.recv(timeout=TIMEOUT))["type"] == "welcome"
        return ws

    def fresh(self) -> None:
        if not self.stale:
            return
        self.close()
        self.rebuilds += 1
        with httpx.Client(base_url=self.server.url) as http:
            waiting, active = (http.post("/api/calls", json={"language": "en"}).json()
                               for _ in range(2))
        self.sockets = {
            "customer-waiting": self._open(waiting["token"]),
            "customer-in-call": self._open(active["token"]),
            "agent-in-call": self._open(),
            "agent-lobby": self._open(),
        }
        self.sockets["agent-in-call"].send(json.dumps({"type": "call.accept",
                                                       "call_id": active["call_id"]}))
        self.waiting, self.active = waiting["call_id"], active["call_id"]
        self.stale = False

    def resolve(self, who: str, frame: str | bytes) -> str | bytes:
        """Put real call ids where a case names the sender's own call, the other one, or none."""
        if isinstance(frame, bytes):
            return frame
        own, other = ((self.waiting, self.active) if who in ("customer-waiting", "agent-lobby")
                      else (self.active, self.waiting))
        for mark, call_id in ((OWN, own), (OTHER, other), (UNKNOWN, "nosuchcall0000")):
            frame = frame.replace(f'"{mark}"', json.dumps(call_id))
        return frame

    def note(self, who: str, reply: dict[str, Any]) -> None:
        if (reply.get("type") == "call.state" and reply.get("state") == "ended") or (
                who == "agent-lobby" and reply.get("type") == "call.started"):
            self.stale = True

    def close(self) -> None:
        self._stack.close()
        self._stack = ExitStack()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, summary: list[str]) -> Iterator[World]:
    server = start_server(tmp_path_factory.mktemp("fuzz"), AVATARCALL_WS_MESSAGES_PER_SECOND="100000",
                          AVATARCALL_WS_MESSAGE_BURST="100000")
    world = World(server)
    try:
        yield world
    finally:
        world.close()
        server.stop()
    total = sum(world.cases.values())
    summary.append(f"signaling fuzz: {total} cases over {len(world.cases)} message types "
                   f"({', '.join(f'{k} {v}' for k, v in world.cases.items())}); "
                   f"{world.failures} failed; {world.rebuilds} fresh sets of calls")
    summary.append("  replies: " + ", ".join(f"{k} {v}" for k, v in world.seen.most_common()))


def _schema_strategy(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for ``schema`` (the subset of JSON Schema pydantic writes for our messages)."""
    if "$ref" in schema:
        return _schema_strategy(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([_schema_strategy(s, defs) for s in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", 200)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda t: low <= len(t) <= high)
        # Mostly short text; sometimes exactly the longest allowed.
        return st.text(min_size=low, max_size=min(high, 120)) | st.just("x" * high)
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.integers(low, high) | st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "array":
        return st.lists(_schema_strategy(schema["items"], defs),
                        max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: _schema_strategy(v, defs) for k, v in properties.items() if k in required},
            optional={k: _schema_strategy(v, defs) for k, v in properties.items() if k not in required})
    raise AssertionError(f"no strategy for {schema}")


def _exchange(world: World, who: str, frame: str | bytes) -> list[dict[str, Any]]:
    """Send ``frame`` then a ping; every message before the last pong, checked."""
    ws = world.sockets[who]
    try:
        pongs = 1 + isinstance(m.parse_client_message(frame), m.Ping)
    except BadMessage:
        pongs = 1
    try:
        ws.send(frame)
        ws.send('{"type":"ping"}')
        replies = []
        while pongs:
            message = json.loads(ws.recv(timeout=TIMEOUT))
            if message.get("type") == "pong":
                pongs -= 1
                world.seen["pong"] += pongs > 0
                continue
            replies.append(message)
    except ConnectionClosed as exc:
        raise AssertionError(f"{who}'s socket closed ({exc.rcvd}) after {frame[:300]!r}") from None
    for reply in replies:
        world.note(who, reply)
        kind = reply.get("type")
        assert kind in SERVER_TYPES, reply
        if kind == "error":
            assert isinstance(reply.get("code"), str) and reply["code"], reply
            assert reply["code"] != "internal", (frame[:300], reply)  # an unexpected exception
            assert isinstance(reply.get("message"), str) and reply["message"], reply
            world.seen[f"error:{reply['code']}"] += 1
        else:
            world.seen[kind] += 1
    return replies


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
WHO = st.sampled_from(["customer-waiting", "customer-in-call", "agent-in-call", "agent-lobby"])


def valid_looking(model: type[m._Message]) -> st.SearchStrategy[dict[str, Any]]:
    """Messages that match the model's JSON schema, naming known calls most of the time."""
    schema = model.model_json_schema()
    base = _schema_strategy(schema, schema.get("$defs", {}))
    if "call_id" not in model.model_fields:
        return base
    call_id = st.sampled_from([OWN, OWN, OTHER, UNKNOWN]) | st.just(None)
    return st.tuples(base, call_id).map(
        lambda pair: {**pair[0], "call_id": pair[1]} if pair[1] else pair[0])


@st.composite
def broken(draw: st.DrawFn, model: type[m._Message]) -> str | bytes:
    """A valid-looking message of ``model``, broken in one way (or garbage outright)."""
    message = dict(draw(valid_looking(model)))
    how = draw(st.sampled_from(["drop", "extra", "retype", "type", "garbage", "text", "binary"]))
    keys = sorted(message)
    if how == "drop" and keys:
        message.pop(draw(st.sampled_from(keys)))
    elif how == "extra":
        message[draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in message))] = draw(JSON)
    elif how == "retype" and keys:
        message[draw(st.sampled_from(keys))] = draw(JSON)
    elif how == "type":
        message["type"] = draw(st.sampled_from(sorted(SERVER_TYPES)) | st.text(max_size=20) | JSON)
    elif how == "garbage":
        return json.dumps(draw(JSON))
    elif how == "text":
        return draw(st.text(max_size=200))
    elif how == "binary":
        return draw(st.binary(max_size=200))
    return json.dumps(message)


@pytest.mark.parametrize("model", MODELS, ids=lambda cls: cls.model_fields["type"].annotation.__args__[0])
def test_every_message_type_gets_an_answer_and_never_breaks_the_socket(
        world: World, model: type[m._Message]) -> None:
    kind = model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]

    @settings(max_examples=EXAMPLES_PER_TYPE, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(who=WHO, frame=st.one_of(valid_looking(model).map(json.dumps), broken(model)))
    def case(who: str, frame: str | bytes) -> None:
        world.fresh()
        world.cases[kind] += 1
        try:
            _exchange(world, who, world.resolve(who, frame))
        except BaseException:
            world.failures += 1
            raise

    case()


def test_the_server_took_every_case_in_its_stride(world: World) -> None:
    world.fresh()
    for who in world.sockets:
        _exchange(world, who, '{"type":"ping"}')
    assert world.server.process.poll() is None
    assert httpx.get(f"{world.server.url}/healthz").json()["ok"] is True
    log = world.server.log.read_text()
    for sign in ("Traceback", "message failed", "signaling connection failed"):
        assert sign not in log, sign
