"""The Grafana dashboard only queries metrics that avatarcall exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from avatarcall.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "avatarcall.json"


def test_every_metric_in_the_dashboard_exists() -> None:
    exported = Metrics().exposition().decode()
    names = {re.sub(r"_total$", "", line.split()[2])
             for line in exported.splitlines() if line.startswith("# TYPE")}
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for panel in dashboard["panels"] for target in panel["targets"]
            for name in re.findall(r"avatarcall_[a-z_]+", target["expr"])}
    assert used, "the dashboard queries nothing"
    missing = {n for n in used if re.sub(r"_(bucket|count|sum|total)$", "", n) not in names}
    assert not missing, missing
