"""ProfitGuardRLoss: hyperopt loss in R, the unit the ladders are written in.

Each trade's result is measured in R, its net profit divided by the risk it
opened with:

    R = profit_abs / (|open_rate - initial stop| * amount entered)

(net of fees; the initial stop is profitguard's, recorded by the strategy in
the epoch's backtest, see `profitguard.freqtrade.backtest_stops`). The score is the
expectancy in R after charging the worst drawdown of the cumulative R curve
(trades in closing order, from 0) to the trades:

    score = (sum of R - drawdown_weight * max drawdown in R) / number of trades
    loss = -score

With fixed-fractional sizing (risk the same share of equity on every trade), R
is what a trade does to the account whatever the stake was, so the score ranks
ladders by what they earn per unit of risk, net of the worst run of losses.
Subclass and set `drawdown_weight` (default 1) to weigh drawdown differently.

Freqtrade finds loss classes only in files under `user_data/hyperopts/` (or
`--hyperopt-path`) that define them: `user_data/hyperopts/ProfitGuardRLoss.py`
defines a subclass of this one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from freqtrade.exceptions import OperationalException
from freqtrade.optimize.hyperopt_loss.hyperopt_loss_interface import IHyperOptLoss
from pandas import DataFrame

from profitguard.freqtrade import backtest_stops
from profitguard.report.figures import max_drawdown
from profitguard.risk.book import r_multiple


def r_score(r_values: Sequence[float], drawdown_weight: float = 1.0) -> float:
    """(sum of R - drawdown_weight * max drawdown in R) / count; 0 for no trades."""
    if not r_values:
        return 0.0
    return (math.fsum(r_values) - drawdown_weight * max_drawdown(r_values)) / len(r_values)


def trade_r(row: Any, initial_stop: float) -> float:
    """R of one result row (`profit_abs`, `open_rate`, `orders`) given its initial stop."""
    entered = math.fsum(o["amount"] for o in row["orders"] if o["ft_is_entry"])
    r = r_multiple(
        float(row["profit_abs"]),
        entry=float(row["open_rate"]),
        initial_stop=initial_stop,
        amount=entered,
    )
    if r is None:
        raise OperationalException(
            f"ProfitGuardRLoss: the {row['pair']} trade opened at {row['open_date']} "
            f"risked nothing (entry {row['open_rate']!r}, initial stop {initial_stop!r}, "
            f"amount {entered!r}): no R to measure it in"
        )
    return r


def r_multiples(results: DataFrame) -> list[float]:
    """R of every trade of `results`, in closing order; the ledger gives the stops.

    Raises `OperationalException` for a trade without a recorded initial stop: a
    loss that guessed would rank ladders on numbers nobody computed."""
    if results.empty:
        return []
    rows = results.sort_values(["close_timestamp", "open_timestamp", "pair"], kind="stable")
    out = []
    for row in rows.to_dict("records"):
        stop = backtest_stops.initial_stop(row["pair"], row["open_timestamp"], row["is_short"])
        if stop is None:
            raise OperationalException(
                f"ProfitGuardRLoss: no initial stop recorded for the {row['pair']} trade "
                f"opened at {row['open_date']} ({backtest_stops.size()} recorded in this run). "
                "The strategy must be a ProfitGuardStrategy: R is measured from "
                "profitguard's initial stop."
            )
        out.append(trade_r(row, stop))
    return out


class ProfitGuardRLoss(IHyperOptLoss):
    """Expectancy in R, net of the worst drawdown in R (lower loss is better)."""

    drawdown_weight: ClassVar[float] = 1.0

    @classmethod
    def hyperopt_loss_function(cls, *, results: DataFrame, **kwargs: Any) -> float:  # type: ignore[override]
        return -r_score(r_multiples(results), cls.drawdown_weight)
