"""The suite's node projects (``tests/js``, ``examples/vue``): installed from their lock files
once, again when a lock changes."""

from __future__ import annotations

import subprocess
from pathlib import Path


def npm(folder: Path, *args: str, timeout: float = 600) -> str:
    done = subprocess.run(["npm", *args], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} in {folder}:\n{done.stdout[-3000:]}"
                           f"{done.stderr[-3000:]}")
    return done.stdout


def installed(folder: Path) -> Path:
    """``folder``'s packages as its ``package-lock.json`` says (``npm ci`` when needed)."""
    lock, done = folder / "package-lock.json", folder / "node_modules" / ".package-lock.json"
    if not done.exists() or done.stat().st_mtime < lock.stat().st_mtime:
        npm(folder, "ci", "--no-audit", "--no-fund")
    return folder / "node_modules"
