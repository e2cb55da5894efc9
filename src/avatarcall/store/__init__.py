"""Persistence of calls and their event timeline (SQLite by default), agents and API keys."""

from avatarcall.store.agents import Agent, AgentStore
from avatarcall.store.apikeys import ApiKey, ApiKeyStore
from avatarcall.store.memory import MemoryRecords
from avatarcall.store.repository import CallRecords, LocalCallRepository
from avatarcall.store.sqlite import CallEventRecord, CallStore

__all__ = [
    "Agent",
    "AgentStore",
    "ApiKey",
    "ApiKeyStore",
    "CallEventRecord",
    "CallRecords",
    "CallStore",
    "LocalCallRepository",
    "MemoryRecords",
]
