"""The code as its checkers see it (settings in pyproject.toml): ruff on the sources and
tests, mypy on the sources. A finding fails here with the checker's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check(*command: str) -> None:
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=240, check=False)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}{done.stderr}"


def test_ruff_finds_nothing() -> None:
    _check("ruff", "check", "src", "tests")


def test_mypy_finds_nothing_in_the_sources() -> None:
    _check("mypy", "src")
