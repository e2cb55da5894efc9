"""The shape of the house (docs/architecture.md), checked by reading the code: the call domain
stays pure, modules stay small, and the browser SDK speaks the server's wire messages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from avatarcall.signaling import messages as m

SRC = Path(__file__).resolve().parents[2] / "src" / "avatarcall"
FORBIDDEN_IN_DOMAIN = ("avatarcall.avatar", "avatarcall.signaling", "avatarcall.store",
                       "avatarcall.web", "avatarcall.flow", "asyncio")


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", sorted((SRC / "calls").glob("*.py")), ids=lambda p: p.name)
def test_the_call_domain_imports_no_io_and_no_other_layer(path: Path) -> None:
    bad = [name for name in _imports(path) if name.startswith(FORBIDDEN_IN_DOMAIN)]
    assert not bad, f"{path.name} imports {bad}"


def test_only_the_flow_joins_the_domain_the_avatar_control_and_the_wire() -> None:
    """Outside flow/, no module imports the call domain, the avatar control and the wire
    messages all three."""
    joiners = []
    for path in SRC.rglob("*.py"):
        if "flow" in path.relative_to(SRC).parts or "testing" in path.relative_to(SRC).parts:
            continue
        names = _imports(path)
        if all(any(n.startswith(p) for n in names) for p in
               ("avatarcall.calls", "avatarcall.avatar.control", "avatarcall.signaling")):
            joiners.append(str(path.relative_to(SRC)))
    assert joiners == []


def test_avatar_sessions_never_leave_the_avatar_package() -> None:
    users = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
             if p.relative_to(SRC).parts[0] not in ("avatar", "bench")
             and any(n.startswith(("avatarcall.avatar.session", "avatarcall.avatar.links"))
                     for n in _imports(p))]
    assert users == []


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_is_over_450_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 450


# --- the browser SDK and the wire messages ------------------------------------------------

JS = sorted((SRC / "static").rglob("*.js"))

def _client_models() -> dict[str, type[m.BaseModel]]:
    union = m.ClientMessage.__origin__  # Annotated[Union[...], discriminator]
    return {model.model_fields["type"].annotation.__args__[0]: model for model in union.__args__}


def _server_models() -> dict[str, type[m.BaseModel]]:
    return {model.model_fields["type"].default: model for model in m.ServerMessage.__args__}


def _wire(name: str) -> str:
    """The SDK's camelCase name of a field as the wire has it (session.js translates)."""
    return re.sub(r"[A-Z]", lambda c: "_" + c.group().lower(), name)


def _sends() -> list[tuple[str, str, set[str]]]:
    """Every message literal the SDK and pages send: (file, type, its keys on the wire)."""
    found = []
    for path in JS:
        for body in re.findall(r"send\(\{\s*(type:[^}]*)\}\)", path.read_text(), re.DOTALL):
            kind = re.match(r"type:\s*'([^']+)'", body)
            keys = {_wire(k) for k in re.findall(r"(?:^|,)\s*(\w+)\s*(?=[:,]|$)", body)} - {"type"}
            if kind:
                found.append((path.name, kind.group(1), keys))
    return found


def test_every_message_the_pages_send_exists_with_its_fields() -> None:
    models = _client_models()
    sends = _sends()
    assert len(sends) >= 12
    for file, kind, keys in sends:
        assert kind in models, f"{file} sends {kind!r}, which the server does not know"
        unknown = keys - set(models[kind].model_fields) - {"payload"}
        assert not unknown, f"{file} sends {kind} with unknown fields {unknown}"


def test_every_message_the_sdk_handles_is_one_the_server_sends() -> None:
    session = (SRC / "static" / "sdk" / "session.js").read_text()
    handled = set(re.findall(r"case '([a-z.]+)':", session))
    assert handled and handled <= set(_server_models())
    for field in {_wire(f) for f in re.findall(r"msg\.(\w+)", session)} - {"type"}:
        assert any(field in model.model_fields for model in _server_models().values()), field
