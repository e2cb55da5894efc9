"""Agents who may sign in: name, argon2id password hash and role, in the ``agents`` table of the
SQLite file.

Blocking on purpose (sqlite3, and argon2 is CPU work by design): the server calls it from an
executor, the command line (``avatarcall agent add``) directly.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from avatarcall.config import MIN_PASSWORD
from avatarcall.store.files import private_dir, sqlite_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sessions_after REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS revoked_sessions (
    id TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
"""

NAME = re.compile(r"^[^\x00-\x1f\x7f:]{1,80}$")  # what a person types; no control characters, no ':'
MAX_PASSWORD = 200


@dataclass(frozen=True)
class Agent:
    name: str
    admin: bool
    created_at: float
    sessions_after: float = 0.0  # sessions signed in before this instant are over


def check_name(name: str) -> str:
    if name != name.strip() or not NAME.match(name):
        raise ValueError("an agent name is 1-80 printable characters, no ':' and no surrounding spaces")
    return name


class AgentStore:
    """Agents in one SQLite file (a connection per operation: they are rare and short)."""

    def __init__(self, path: Path, hasher: PasswordHasher | None = None) -> None:
        self.path = path
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        private_dir(path.parent)
        sqlite_file(path)
        with self._db() as db:
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(agents)")}
            if "sessions_after" not in columns:  # a file from before sessions could be ended
                try:
                    db.execute("ALTER TABLE agents ADD COLUMN sessions_after REAL NOT NULL "
                               "DEFAULT 0")
                except sqlite3.OperationalError as exc:  # another process added it just now
                    if "duplicate column" not in str(exc):
                        raise

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One transaction on a connection of its own, closed after."""
        with closing(sqlite3.connect(self.path, timeout=10)) as db, db:
            yield db

    def set(self, name: str, password: str, *, admin: bool = False) -> bool:
        """Create or update an agent; return True if it was created. An update (new password or
        role) ends the agent's open sessions: they sign in again."""
        check_name(name)
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise ValueError(f"a password is {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        digest = self._hasher.hash(password)
        now = time.time()
        with self._db() as db:
            created = db.execute("SELECT 1 FROM agents WHERE name=?", (name,)).fetchone() is None
            db.execute(
                "INSERT INTO agents VALUES (?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
                "password_hash=excluded.password_hash, admin=excluded.admin, "
                "updated_at=excluded.updated_at, sessions_after=excluded.sessions_after",
                (name, digest, int(admin), now, now, now),
            )
        return created

    def create_first(self, name: str, password: str) -> bool:
        """Make ``name`` an admin if there is no agent at all yet (the first start); True if it
        was made. Never changes an existing agent."""
        check_name(name)
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise ValueError(f"a password is {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        digest = self._hasher.hash(password)
        now = time.time()
        with self._db() as db:
            if db.execute("SELECT 1 FROM agents LIMIT 1").fetchone() is not None:
                return False
            db.execute("INSERT INTO agents VALUES (?,?,?,?,?,?)", (name, digest, 1, now, now, 0))
        return True

    def verify(self, name: str, password: str) -> Agent | None:
        """The agent if ``password`` is theirs, else None; as slow for an unknown name as for a
        wrong password (no telling which names exist)."""
        if len(password) > MAX_PASSWORD:
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT password_hash, admin, created_at FROM agents WHERE name=?", (name,)
            ).fetchone()
        if row is None:
            self._matches(self._dummy_hash(), password)
            return None
        digest, admin, created_at = row
        if not self._matches(digest, password):
            return None
        if self._hasher.check_needs_rehash(digest):
            with self._db() as db:
                db.execute("UPDATE agents SET password_hash=? WHERE name=? AND password_hash=?",
                           (self._hasher.hash(password), name, digest))
        return Agent(name, bool(admin), created_at)

    def get(self, name: str) -> Agent | None:
        with self._db() as db:
            row = db.execute("SELECT name, admin, created_at, sessions_after FROM agents "
                             "WHERE name=?", (name,)).fetchone()
        return Agent(row[0], bool(row[1]), row[2], row[3]) if row else None

    def list(self) -> list[Agent]:
        with self._db() as db:
            rows = db.execute("SELECT name, admin, created_at, sessions_after FROM agents "
                              "ORDER BY name").fetchall()
        return [Agent(r[0], bool(r[1]), r[2], r[3]) for r in rows]

    def remove(self, name: str) -> bool:
        """Remove an agent (their open sessions end with them); False if there was none."""
        with self._db() as db:
            return db.execute("DELETE FROM agents WHERE name=?", (name,)).rowcount > 0

    def sign_out(self, name: str) -> bool:
        """End every open session of this agent now; False if there is no such agent."""
        with self._db() as db:
            return db.execute("UPDATE agents SET sessions_after=? WHERE name=?",
                              (time.time(), name)).rowcount > 0

    def revoke_session(self, session: str, expires_at: float) -> None:
        """One session signed out; kept until it would have expired anyway."""
        now = time.time()
        with self._db() as db:
            db.execute("DELETE FROM revoked_sessions WHERE expires_at < ?", (now,))
            db.execute("INSERT OR IGNORE INTO revoked_sessions VALUES (?, ?)",
                       (session, expires_at))

    def is_revoked(self, session: str) -> bool:
        with self._db() as db:
            return db.execute("SELECT 1 FROM revoked_sessions WHERE id=?",
                              (session,)).fetchone() is not None

    def _matches(self, digest: str, password: str) -> bool:
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash("no such agent")
        return self._dummy
