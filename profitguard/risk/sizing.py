"""Position sizing: the stake of a new trade, always within the stake cap and Freqtrade's limits.

Methods (`SizingMethod`), each giving a raw stake before the limits:
- fixed_fractional: risk `risk_per_trade` of equity to the initial stop:
  amount = risk_per_trade * equity / |rate - stop|;
- kelly: risk min(kelly_fraction * f*, kelly_max_risk) of equity, with
  f* = W - (1 - W) / B from the last `kelly_lookback` closed trades in R
  (W: share of winners, B: average win / average loss, in R); fewer than
  `kelly_min_trades` trades: fixed_fractional; f* <= 0 (no edge): no trade;
- volatility: one ATR against the trade costs `atr_risk` of equity:
  amount = atr_risk * equity / ATR;
- fixed: `fixed_stake`, or Freqtrade's own stake (`stake_amount`) when unset.

stake = amount * rate / leverage, then reduced to the stake cap
(`max_stake_ratio` of equity) and to Freqtrade's maximum (which includes the
free balance). A stake below Freqtrade's minimum is not raised to it (that
would risk more than the budget): the trade is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import SizingConfig, SizingMethod


@dataclass(frozen=True, slots=True)
class Sizing:
    stake: float  # 0: no trade
    method: str  # the method used, with the reason when it fell back
    refusal: Check | None = None
    raw_stake: float = 0.0  # before the cap and Freqtrade's limits
    capped: bool = False  # reduced to fit the stake cap


def kelly(rs: Sequence[float]) -> float:
    """Full Kelly's risk fraction f* = W - (1 - W) / B from outcomes in R (-inf: no winner)."""
    if not rs:
        raise ValueError("kelly() needs at least one outcome")
    wins = [r for r in rs if r > 0]
    losses = [-r for r in rs if r < 0]
    if not wins:
        return -math.inf
    w = len(wins) / len(rs)
    if not losses:
        return w
    b = (math.fsum(wins) / len(wins)) / (math.fsum(losses) / len(losses))
    return w - (1.0 - w) / b


def size(
    config: SizingConfig,
    *,
    equity: float,
    rate: float,
    initial_stop: float,
    leverage: float = 1.0,
    proposed_stake: float,
    min_stake: float | None,
    max_stake: float,
    max_stake_ratio: float | None,
    r_history: Sequence[float] = (),
    atr: float | None = None,
) -> Sizing:
    """The stake for an entry at `rate` with `initial_stop` (see the module docstring).

    `r_history`: closed trades' R, oldest first (Kelly reads the last ones)."""
    method = config.method.value

    def refuse(value: Figure, limit: Figure | None = None, *extra: Figure) -> Sizing:
        return Sizing(
            0.0,
            method,
            Check(Rule.SIZING, False, value, limit, (*extra, Figure("method", method, Unit.TEXT))),
        )

    if not (equity > 0 and math.isfinite(equity)):
        return refuse(Figure("equity", equity, Unit.MONEY))
    distance = abs(rate - initial_stop)
    if not (rate > 0 and distance > 0 and math.isfinite(distance)):
        return refuse(
            Figure("stop_distance", distance, Unit.PRICE), None, Figure("rate", rate, Unit.PRICE)
        )

    def stake_for_risk(ratio: float) -> float:
        return ratio * equity / distance * rate / leverage

    match config.method:
        case SizingMethod.FIXED_FRACTIONAL:
            raw = stake_for_risk(config.risk_per_trade)
        case SizingMethod.KELLY:
            recent = list(r_history)[-config.kelly_lookback :]
            if len(recent) < config.kelly_min_trades:
                method = (
                    f"fixed_fractional (kelly: {len(recent)} < {config.kelly_min_trades} trades)"
                )
                raw = stake_for_risk(config.risk_per_trade)
            else:
                full = kelly(recent)
                risk = min(config.kelly_fraction * full, config.kelly_max_risk)
                if risk <= 0:
                    return refuse(
                        Figure("kelly", full),
                        Figure("limit", 0.0),
                        Figure("trades", len(recent), Unit.COUNT),
                    )
                raw = stake_for_risk(risk)
        case SizingMethod.VOLATILITY:
            if atr is None or not math.isfinite(atr) or atr <= 0:
                return refuse(
                    Figure("atr", atr if atr is not None else "missing", Unit.TEXT),
                    None,
                    Figure("column", config.atr_column, Unit.TEXT),
                )
            raw = config.atr_risk * equity / atr * rate / leverage
        case SizingMethod.FIXED:
            raw = config.fixed_stake if config.fixed_stake is not None else proposed_stake
    stake = raw
    capped = False
    if max_stake_ratio is not None and stake > max_stake_ratio * equity:
        stake, capped = max_stake_ratio * equity, True
    stake = min(stake, max_stake)
    if not (stake > 0 and math.isfinite(stake)):
        return refuse(
            Figure("stake", stake, Unit.MONEY), Figure("max_stake", max_stake, Unit.MONEY)
        )
    if min_stake is not None and stake < min_stake:
        return refuse(
            Figure("stake", stake, Unit.MONEY), Figure("min_stake", min_stake, Unit.MONEY)
        )
    return Sizing(stake, method, None, raw, capped)
