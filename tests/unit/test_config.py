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
    credentials = settings.demo_credentials
    assert credentials is not None
    name, password = credentials
    assert name == "agent" and len(password) >= 10
    assert settings.demo_credentials == (name, password)  # generated once
    assert Settings(demo_agent="bob:s3cret-pass").demo_credentials == ("bob", "s3cret-pass")
    assert Settings(demo_agent="off").demo_credentials is None
    with pytest.raises(ValidationError):
        Settings(demo_agent="no-colon")
    with pytest.raises(ValidationError):  # short passwords are refused everywhere
        Settings(demo_agent="bob:s3cret")


def test_the_data_directory_does_not_depend_on_where_a_command_runs(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AVATARCALL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == tmp_path / "xdg" / "avatarcall"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert Settings().data_dir == Path.home() / ".local" / "share" / "avatarcall"
