"""Helpers shipped for tests and benchmarks: a real server process, and people in Chromium."""

__all__: list[str] = []
