"""The browser SDK as a package: its own tests under node's test runner, a TypeScript consumer
that type-checks against its declarations (installed as a package, ``file:`` the SDK's folder),
and declarations that cover every name it exports, at the server's version."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import avatarcall
from avatarcall.testing.node import installed

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "src" / "avatarcall" / "static" / "sdk"
CONSUMER = ROOT / "tests" / "js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed "
                                "(scripts/setup.sh --test installs it)")


def run(*command: str, cwd: Path = ROOT, timeout: float = 300) -> str:
    done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def test_the_sdk_passes_its_node_tests() -> None:
    out = run("node", "--test", "tests/js/")
    print(out[-600:])
    assert re.search(r"^# fail 0$", out, re.MULTILINE)


def test_a_typescript_consumer_type_checks_against_the_package() -> None:
    installed(CONSUMER)
    run("node", "node_modules/typescript/bin/tsc", "-p", "tsconfig.json", cwd=CONSUMER)


def test_the_declarations_cover_every_export_at_the_servers_version() -> None:
    package = json.loads((SDK / "package.json").read_text())
    assert package["version"] == avatarcall.__version__
    assert package["exports"]["."] == {"types": "./index.d.ts", "import": "./index.js"}
    exported = set()
    for names in re.findall(r"export \{([^}]*)\}", (SDK / "index.js").read_text()):
        exported |= {n.strip() for n in names.split(",") if n.strip()}
    declared = set(re.findall(r"^export (?:class|const|function) (\w+)",
                              (SDK / "index.d.ts").read_text(), re.MULTILINE))
    assert exported == declared
