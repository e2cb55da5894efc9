"""Settings come from arguments, then AVATARCALL_* variables, then an optional TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from avatarcall.config import Settings


def test_environment_then_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "avatarcall.toml"
    toml.write_text('port = 9000\nlanguage = "fr"\n[[ice_servers_avatar]]\nurls = ["turn:127.0.0.1:3478"]\n')
    monkeypatch.setenv("AVATARCALL_CONFIG", str(toml))
    monkeypatch.setenv("AVATARCALL_LANGUAGE", "en")
    settings = Settings()
    assert settings.port == 9000
    assert settings.language == "en"  # the environment wins over the file
    assert settings.ice_servers_avatar[0].urls == ["turn:127.0.0.1:3478"]
    assert Settings(port=1234).port == 1234


def test_demo_agent_is_checked_and_a_password_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AVATARCALL_DEMO_AGENT", raising=False)
    settings = Settings()
    name, password = settings.demo_credentials
    assert name == "agent" and len(password) >= 10
    assert settings.demo_credentials == (name, password)  # generated once
    assert Settings(demo_agent="bob:s3cret").demo_credentials == ("bob", "s3cret")
    with pytest.raises(ValidationError):
        Settings(demo_agent="no-colon")
