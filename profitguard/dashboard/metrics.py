"""`GET /metrics`: the dashboard's figures in Prometheus' text format.

The names are a contract (the Grafana dashboard in docs/ queries them):
`profitguard_trading_state` (0 active, 1 reducing, 2 halted), `profitguard_heat_ratio`,
`profitguard_period_loss_ratio{period}`, `profitguard_open_trade_r{pair}`,
`profitguard_stop_distance_r{pair}`, `profitguard_refusals_total{rule}`,
`profitguard_take_profit_fills_total{level}`, `profitguard_callback_errors_total`,
`profitguard_bot_loop_age_seconds`, `profitguard_watchdog_alerts{code}`, and
`profitguard_untracked_amount{pair}` (base amount held beyond the open trades that
profitguard's own fills explain: an order whose answer was lost, a trade closed
while part of it was still held; + long, - short; 0 once closed).
Each scrape reads the figures afresh (a collector, not counters kept here): the
refusal and error counts are the bot's since it started, the fills the database's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from profitguard.dashboard.api_status import STATE_CODES

METRIC_NAMES = (
    "profitguard_trading_state",
    "profitguard_heat_ratio",
    "profitguard_period_loss_ratio",
    "profitguard_open_trade_r",
    "profitguard_stop_distance_r",
    "profitguard_refusals_total",
    "profitguard_take_profit_fills_total",
    "profitguard_callback_errors_total",
    "profitguard_bot_loop_age_seconds",
    "profitguard_watchdog_alerts",
    "profitguard_untracked_amount",
)


class FiguresCollector:
    def __init__(self, figures: Callable[[], dict[str, Any]]) -> None:
        self.figures = figures

    def collect(self):
        f = self.figures()
        yield _gauge(
            "profitguard_trading_state",
            "Trading state: 0 active, 1 reducing (paused), 2 halted (kill switch)",
            STATE_CODES.get(f["state"], 2),
        )
        if f["heat"]["ratio"] is not None:
            yield _gauge(
                "profitguard_heat_ratio",
                "Portfolio heat: open risk to the stops in force over the equity (0.01 = 1%)",
                f["heat"]["ratio"],
            )
        loss = GaugeMetricFamily(
            "profitguard_period_loss_ratio",
            "Realized loss of the period over the equity (0.01 = 1%)",
            labels=["period"],
        )
        for p in f["periods"]:
            if p["loss"] is not None:
                loss.add_metric([p["period"]], p["loss"])
        yield loss
        r_now = GaugeMetricFamily(
            "profitguard_open_trade_r", "An open trade's R-multiple now", labels=["pair"]
        )
        distance = GaugeMetricFamily(
            "profitguard_stop_distance_r",
            "How far the price is above its stop in force (below, for a short), in R",
            labels=["pair"],
        )
        for t in f["trades"]:
            if t.get("r") is not None:
                r_now.add_metric([t["pair"]], t["r"])
                if t.get("stop_r") is not None:
                    distance.add_metric([t["pair"]], t["r"] - t["stop_r"])
        yield r_now
        yield distance
        refusals = CounterMetricFamily(
            "profitguard_refusals", "Entries refused by the risk gate, per rule", labels=["rule"]
        )
        for rule, count in sorted(f["refusals"].items()):
            refusals.add_metric([rule], count)
        yield refusals
        fills = CounterMetricFamily(
            "profitguard_take_profit_fills",
            "Filled take-profit orders, per level",
            labels=["level"],
        )
        for level, count in sorted(f["take_profit_fills"].items()):
            fills.add_metric([level], count)
        yield fills
        yield CounterMetricFamily(
            "profitguard_callback_errors",
            "profitguard callback failures in the bot (each failed safe)",
            value=f["callback_errors"],
        )
        if f["bot"]["loop_age_s"] is not None:
            yield _gauge(
                "profitguard_bot_loop_age_seconds",
                "Seconds since the bot's last loop",
                f["bot"]["loop_age_s"],
            )
        alerts = GaugeMetricFamily(
            "profitguard_watchdog_alerts",
            "Open trades the watchdog reports (UNPROTECTED, STALE_PRICE)",
            labels=["code"],
        )
        counts: dict[str, int] = {"UNPROTECTED": 0, "STALE_PRICE": 0}
        for alert in f["watchdog"]:
            counts[alert["code"]] = counts.get(alert["code"], 0) + 1
        for code, count in sorted(counts.items()):
            alerts.add_metric([code], count)
        yield alerts
        untracked = GaugeMetricFamily(
            "profitguard_untracked_amount",
            "Base amount held beyond the open trades that profitguard bought (reconciliation)",
            labels=["pair"],
        )
        for pair, amount in sorted((f.get("untracked") or {}).items()):
            untracked.add_metric([pair], amount)
        yield untracked


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def metrics_text(figures: Callable[[], dict[str, Any]]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    return generate_latest(registry)
