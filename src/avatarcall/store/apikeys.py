"""API keys of integrators' backends: random 32-byte keys, stored as SHA-256 digests (a key is
shown once, when made), revocable, in the ``api_keys`` table of the SQLite file.

Blocking (sqlite3): the server calls it from an executor, the command line directly.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from avatarcall.store.agents import check_name
from avatarcall.store.files import private_dir, sqlite_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS {table} (
    name TEXT PRIMARY KEY,
    key_sha256 TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    revoked_at REAL
);
"""

MAX_KEY = 100


@dataclass(frozen=True)
class ApiKey:
    name: str
    created_at: float
    revoked_at: float | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyStore:
    TABLE = "api_keys"
    PREFIX = "ack_"  # so a leaked key is recognisable (secret scanners, logs)

    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        sqlite_file(path)
        with self._db() as db:
            db.executescript(SCHEMA.format(table=self.TABLE))

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a connection of its own, closed after."""
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def add(self, name: str) -> str:
        """Make a key named ``name`` and return it (the only time it is seen). A revoked key's
        name may be reused; a live one's may not."""
        check_name(name)
        key = self.PREFIX + secrets.token_urlsafe(32)
        with self._db() as db:
            row = db.execute(f"SELECT revoked_at FROM {self.TABLE} WHERE name=?",
                             (name,)).fetchone()
            if row is not None and row[0] is None:
                raise ValueError(f"there is already a live key named {name!r}; revoke it first")
            db.execute(f"INSERT OR REPLACE INTO {self.TABLE} VALUES (?,?,?,NULL)",
                       (name, _digest(key), time.time()))
        return key

    def revoke(self, name: str) -> bool:
        """Revoke the live key ``name``; False if there is none."""
        with self._db() as db:
            cursor = db.execute(f"UPDATE {self.TABLE} SET revoked_at=? WHERE name=? "
                                "AND revoked_at IS NULL", (time.time(), name))
        return cursor.rowcount > 0

    def check(self, key: str) -> str | None:
        """The name of the live key ``key``, or None."""
        if not key.startswith(self.PREFIX) or len(key) > MAX_KEY:
            return None
        with self._db() as db:
            row = db.execute(f"SELECT name FROM {self.TABLE} WHERE key_sha256=? "
                             "AND revoked_at IS NULL", (_digest(key),)).fetchone()
        return str(row[0]) if row else None

    def list(self) -> list[ApiKey]:
        with self._db() as db:
            rows = db.execute(f"SELECT name, created_at, revoked_at FROM {self.TABLE} "
                              "ORDER BY name").fetchall()
        return [ApiKey(*r) for r in rows]


class WorkerKeyStore(ApiKeyStore):
    """Keys avatar workers on other machines dial in with (``avatarcall workerkey add NAME``)."""

    TABLE = "worker_keys"
    PREFIX = "awk_"
