"""Small statistics for benchmark tables."""

from __future__ import annotations

import statistics


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p95(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def rate(ok: int, total: int) -> str:
    return "-" if total == 0 else f"{ok}/{total} ({100 * ok / total:.0f}%)"
