"""Persistence of calls and their event timeline (SQLite by default)."""

from avatarcall.store.sqlite import CallEventRecord, CallStore

__all__ = ["CallEventRecord", "CallStore"]
