"""Shared fixtures: a real avatarcall server in its own process, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from avatarcall.testing.server import Server, start_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()
