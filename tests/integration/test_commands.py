"""Every command the README gives, run as an operator would from a plain install (the server's
packages only: the test and bench extras are hidden from the interpreter): it works, or says in
one line what to install and exits non-zero. Errors never go to stdout, which the README pipes
into files."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from itertools import takewhile
from pathlib import Path

import httpx
import pytest

from avatarcall.testing.server import Server, start_server

README = Path(__file__).resolve().parents[2] / "README.md"
# What a plain ``pip install avatarcall`` lacks: the bench extra and the test tools.
HIDDEN = ("playwright", "pytest", "hypothesis", "schemathesis")
BLOCKER = f"""
import sys
class _PlainInstall:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HIDDEN!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _PlainInstall())
"""


@pytest.fixture
def plain(tmp_path: Path) -> dict[str, str]:
    """An environment whose interpreter cannot see the extras (a sitecustomize hides them)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    return {**os.environ, "PYTHONPATH": str(site), "AVATARCALL_DATA_DIR": str(tmp_path / "data")}


def avatarcall(env: dict[str, str], *args: str, cwd: Path | None = None,
               stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatarcall", *args], env=env, cwd=cwd,
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_the_blocker_hides_the_extras(plain: dict[str, str]) -> None:
    probe = subprocess.run([sys.executable, "-c", "import playwright"], env=plain,
                           capture_output=True, text=True, check=False)
    assert probe.returncode != 0 and "playwright" in probe.stderr


# The README's commands, each run below from a plain install (a new one needs its test here).
TESTED = {"serve", "agent add", "apikey add", "turn-config", "diagnose", "bench calls",
          "bench avatar", "bench lipsync", "bench recovery", "worker", "workerkey add",
          "lb-config", "bench scale", "bench network"}


def test_the_readme_commands_are_the_ones_tested_here() -> None:
    table = README.read_text().split("## Commands", 1)[1].split("\n## ", 1)[0]
    commands = {" ".join(takewhile(lambda w: re.fullmatch(r"[a-z][a-z-]*", w), cmd.split()))
                for cmd in re.findall(r"^\| `avatarcall ([^`]+)`", table, re.MULTILINE)}
    assert commands == TESTED


def test_the_server_runs_from_a_plain_install(plain: dict[str, str], tmp_path: Path) -> None:
    server = start_server(tmp_path / "server", PYTHONPATH=plain["PYTHONPATH"])
    try:
        health = httpx.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["ok"] is True
        assert httpx.get(f"{server.url}/docs", timeout=10).status_code == 200
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text()


@pytest.mark.parametrize("what", ["calls", "lipsync", "recovery", "network"])
def test_a_benchmark_without_its_extra_says_what_to_install(plain: dict[str, str],
                                                            what: str) -> None:
    result = avatarcall(plain, "bench", what, "--runs", "1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert "pip install 'avatarcall[bench]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_avatar_benchmark_and_diagnose_need_no_extra(plain: dict[str, str]) -> None:
    code = ("import avatarcall.bench.avatar, avatarcall.diagnose; "
            "from avatarcall.bench import lipsync; assert lipsync.measure(1) is None")
    probe = subprocess.run([sys.executable, "-c", code],
                           env=plain, capture_output=True, text=True, check=False)
    assert probe.returncode == 0, probe.stderr


def test_diagnose_runs_from_a_plain_install(plain: dict[str, str], server: Server) -> None:
    result = avatarcall(plain, "diagnose", server.url, "--seconds", "1")
    assert "Traceback" not in result.stderr, result.stderr
    assert "verdict:" in result.stdout and "server" in result.stdout


def test_agents_and_api_keys_from_the_command_line(plain: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Reading a store that is not there says so, and makes none.
    result = avatarcall(plain, "agent", "list", cwd=elsewhere)
    assert result.returncode != 0 and "no avatarcall data in" in result.stderr
    assert not (tmp_path / "data").exists() and list(elsewhere.iterdir()) == []
    result = avatarcall(plain, "agent", "add", "bob", "--admin", stdin="bob-password\n",
                        cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert f"data: {tmp_path / 'data'}" in result.stderr  # every command says which store
    assert "bob\tadmin" in avatarcall(plain, "agent", "list", cwd=tmp_path).stdout
    short = avatarcall(plain, "agent", "add", "carl", stdin="short\n")
    assert short.returncode != 0 and "8-200 characters" in short.stderr
    key = avatarcall(plain, "apikey", "add", "shop")
    assert key.returncode == 0 and key.stdout.strip().startswith("ack_")
    assert "shop\tlive" in avatarcall(plain, "apikey", "list").stdout
    assert avatarcall(plain, "apikey", "revoke", "shop").returncode == 0
    assert avatarcall(plain, "agent", "signout", "bob").returncode == 0
    assert avatarcall(plain, "agent", "remove", "bob").returncode == 0


def test_turn_config_prints_all_or_nothing(plain: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "turn-secret"
    secret.write_text("s3cret-from-a-file\n")
    ok = avatarcall(plain, "turn-config", "--realm", "turn.example.com",
                    "--secret-file", str(secret), "--external-ip", "203.0.113.10")
    assert ok.returncode == 0 and "static-auth-secret=s3cret-from-a-file" in ok.stdout
    # An error: nothing on stdout (``| sudo tee /etc/turnserver.conf`` must not empty the file).
    bad = avatarcall(plain, "turn-config", "--realm", "turn.example.com",
                     "--secret-file", str(secret), "--tls-port", "443")
    assert bad.returncode != 0 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert "cert and pkey" in bad.stderr
    # From the environment, written to a file only on success.
    env = {**plain, "AVATARCALL_TURN_SECRET": "s3cret-from-the-env"}
    out = tmp_path / "turnserver.conf"
    assert avatarcall(env, "turn-config", "--realm", "r", "--output", str(out)).returncode == 0
    assert "static-auth-secret=s3cret-from-the-env" in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    failed = tmp_path / "not-written.conf"
    assert avatarcall(env, "turn-config", "--realm", "r", "--tls-port", "443",
                      "--output", str(failed)).returncode != 0
    assert not failed.exists()
    # The secret is never an argument any more (every user sees arguments).
    assert avatarcall(plain, "turn-config", "--realm", "r", "--secret", "x").returncode != 0


def test_a_worker_runs_from_a_plain_install(plain: dict[str, str], server: Server) -> None:
    """(tests/integration/test_workers.py has a worker render for a server; here, that it
    starts from a plain install and says what is wrong in one line.)"""
    keyless = avatarcall(plain, "worker", "--server", server.url)
    assert keyless.returncode != 0 and "AVATARCALL_WORKER_KEY" in keyless.stderr
    assert len(keyless.stderr.strip().splitlines()) == 1
    refused = avatarcall({**plain, "AVATARCALL_WORKER_KEY": "awk_not-a-key"}, "worker",
                         "--server", server.url)
    assert refused.returncode != 0 and "refused" in refused.stderr
    assert "Traceback" not in refused.stderr
    made = avatarcall(plain, "workerkey", "add", "machine-b")
    assert made.returncode == 0 and made.stdout.startswith("awk_")


def test_lb_config_and_bench_scale_run_from_a_plain_install(plain: dict[str, str]) -> None:
    config = avatarcall(plain, "lb-config", "--node", "127.0.0.1:8080", "--node",
                        "127.0.0.1:8081", "--port", "18080")
    assert config.returncode == 0 and "server node2 127.0.0.1:8081 check" in config.stdout
    checked = subprocess.run(["haproxy", "-c", "-f", "/dev/stdin"], input=config.stdout,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    bad = avatarcall(plain, "lb-config", "--node", "no-port")
    assert bad.returncode != 0 and bad.stdout == "" and "HOST:PORT" in bad.stderr
    scale = avatarcall(plain, "bench", "scale", "--customers", "20", "--burst", "10")
    assert scale.returncode == 0, scale.stderr[-2000:]
    assert "waiting customers          30 (0 failed to join)" in scale.stdout
    assert "steady       20 joined (0 failed)" in scale.stdout
    assert "burst        10 joined (0 failed)" in scale.stdout
    assert "pings unanswered (lost)    0" in scale.stdout


def test_help_is_plain_text(plain: dict[str, str]) -> None:
    for args in ([], ["turn-config"], ["agent"], ["bench"], ["diagnose"], ["worker"]):
        result = avatarcall(plain, *args, "--help")
        assert result.returncode == 0 and "``" not in result.stdout, args
