"""The report's two tables, computed from stored events for a period (pure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from avatarcall.bench.stats import median, p95
from avatarcall.metrics import SCENARIOS
from avatarcall.store import CallEventRecord

# (label, event kind carrying elapsed_ms, how a timeout shows in the events)
COMPONENTS = (
    ("Call link (browser to connected)", "call.connected", ("outcome", "call_not_connected")),
    ("Avatar (offer to first frame)", "avatar.live", ("avatar.error", "avatar_timeout")),
)
REPORT_KINDS = ("call.connected", "avatar.live", "avatar.error", "outcome")


@dataclass(frozen=True)
class ComponentRow:
    name: str
    count: int
    median_ms: float | None
    p95_ms: float | None
    timeouts: int


@dataclass(frozen=True)
class ScenarioRow:
    scenario: str
    success: int
    total: int
    failures: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    t: float
    call_median_ms: float | None
    avatar_median_ms: float | None
    success: int
    total: int


@dataclass(frozen=True)
class Report:
    since: float
    until: float
    components: list[ComponentRow]
    scenarios: list[ScenarioRow]
    series: list[Point]


def _elapsed(events: list[CallEventRecord], kind: str) -> list[float]:
    return [float(e.detail["elapsed_ms"]) for e in events
            if e.kind == kind and isinstance(e.detail.get("elapsed_ms"), (int, float))]


def _timeouts(events: list[CallEventRecord], rule: tuple[str, str]) -> int:
    kind, code = rule
    return sum(1 for e in events if e.kind == kind
               and code in (e.detail.get("code"), e.detail.get("outcome")))


def build(events: list[CallEventRecord], since: float, until: float, buckets: int = 24) -> Report:
    components = []
    for name, kind, timeout_rule in COMPONENTS:
        values = _elapsed(events, kind)
        components.append(ComponentRow(name, len(values), median(values), p95(values),
                                       _timeouts(events, timeout_rule)))
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for e in events:
        if e.kind == "outcome":
            outcomes[str(e.detail.get("scenario"))][str(e.detail.get("outcome"))] += 1
    scenarios = []
    for scenario in SCENARIOS:
        counts = outcomes.get(scenario, Counter())
        failures = {code: n for code, n in counts.items() if code != "success"}
        scenarios.append(ScenarioRow(scenario, counts.get("success", 0), sum(counts.values()), failures))

    width = max((until - since) / max(buckets, 1), 1e-9)
    grouped: dict[int, list[CallEventRecord]] = defaultdict(list)
    for e in events:
        grouped[min(buckets - 1, int((e.at - since) / width))].append(e)
    series = []
    for i in range(buckets):
        chunk = grouped.get(i, [])
        done = [e for e in chunk if e.kind == "outcome"]
        series.append(Point(
            t=since + i * width,
            call_median_ms=median(_elapsed(chunk, "call.connected")),
            avatar_median_ms=median(_elapsed(chunk, "avatar.live")),
            success=sum(1 for e in done if e.detail.get("outcome") == "success"),
            total=len(done),
        ))
    return Report(since, until, components, scenarios, series)
