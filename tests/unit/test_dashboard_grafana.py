"""The Grafana dashboard shipped in docs/ queries only the metrics /metrics serves."""

import json
import re
from pathlib import Path

from profitguard.dashboard.metrics import METRIC_NAMES

GRAFANA = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
# PromQL's own words, not metric names
PROMQL = {"sum", "by", "increase", "rate", "max", "min", "avg", "code", "rule", "level",
          "pair", "period"}  # fmt: skip


def metric_words(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (ranges and PromQL's words left out)."""
    return set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r"\[[^\]]*\]", "", expr))) - PROMQL


def expressions() -> list[str]:
    panels = json.loads(GRAFANA.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def test_grafana_dashboard_when_read_then_every_query_uses_only_served_metric_names():
    exprs = expressions()
    assert len(exprs) >= 10
    names = set().union(*(metric_words(e) for e in exprs))
    assert names <= set(METRIC_NAMES), names - set(METRIC_NAMES)
    # every metric the issue names has a panel
    assert names == set(METRIC_NAMES)


def test_grafana_check_when_a_query_names_an_unknown_metric_then_it_is_caught():
    """The check above is not vacuous: a misspelt name is found."""
    expr = "sum by (rule) (increase(profitguard_refusal_total[5m]))"
    assert metric_words(expr) - set(METRIC_NAMES) == {"profitguard_refusal_total"}
