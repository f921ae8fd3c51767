"""One entry as the gate reads it from Freqtrade: its checked initial stop, its stake
(`risk.sizing.size`), and the `Proposal` the entry limits read (first target, signal
candle, confidence, futures margin terms, the pair's tick and fee).

The initial stop is asked once per entry (sizing, then the gate). The fee is the
config's `fee`, else the worst of the exchange's taker and maker fee (as Freqtrade's
backtester takes them), asked once per pair and kept: hyperopt's workers have no exchange
(the main process asked for every pair: `ask`)."""

from __future__ import annotations

import logging
import math
from datetime import datetime
from typing import Any

from pandas import DataFrame

from profitguard.engine import make_plan
from profitguard.freqtrade.columns import last_raw
from profitguard.freqtrade.gate.account import ClosedHistory
from profitguard.freqtrade.gate.host import GateHost
from profitguard.freqtrade.initial_stop import check_returned_stop
from profitguard.freqtrade.internals import exchange_of
from profitguard.risk.book import MarginTerms, Proposal
from profitguard.risk.config import RiskConfig, SizingMethod
from profitguard.risk.sizing import Sizing, size

log = logging.getLogger(__name__)


class Entry:
    def __init__(self, host: GateHost, config: RiskConfig, history: ClosedHistory) -> None:
        self.host = host
        self.config = config
        self.history = history
        self._stop: tuple[tuple, float] | None = None
        self._fees: dict[str, float | None] = {}

    def stop(self, pair: str, side: str, rate: float, now: datetime, analyzed) -> float:
        """The strategy's initial stop for the entry, checked."""
        key = (pair, side, rate, now)
        if self._stop is not None and self._stop[0] == key:
            return self._stop[1]  # sizing asked a moment ago, for this very entry
        stop = self.host.initial_stop(pair, side, rate, now, dataframe=analyzed)
        check_returned_stop(stop, rate, side)
        self._stop = (key, float(stop))
        return float(stop)

    def size(
        self, pair: str, now: datetime, equity: float, *, rate: float, side: str, **limits: Any
    ) -> Sizing:
        """The stake of an entry at `rate` with `equity` (the gate's account, read for this
        very entry); `limits`: the leverage, proposed, min and max stake Freqtrade gives."""
        analyzed = self.host.analyzed(pair)
        stop = self.stop(pair, side, rate, now, analyzed)
        sizing = self.config.sizing
        r_history: list[float] = []
        if sizing.method is SizingMethod.KELLY:  # the last kelly_lookback R's, not the history
            r_history = self.history.recent_r(sizing.kelly_lookback)
        atr = None
        if sizing.method is SizingMethod.VOLATILITY:
            atr = last_value(analyzed, sizing.atr_column)
        return size(
            sizing,
            equity=equity,
            rate=rate,
            initial_stop=stop,
            max_stake_ratio=self.config.max_stake_ratio,
            r_history=r_history,
            atr=atr,
            **limits,
        )

    def proposal(
        self, pair: str, *, amount: float, rate: float, now: datetime, side: str, leverage: float
    ) -> Proposal:
        """The entry as the entry limits read it."""
        analyzed = self.host.analyzed(pair)
        stop = self.stop(pair, side, rate, now, analyzed)
        plan = make_plan(
            self.host.exits_in_force, side=side, entry=rate, initial_stop=stop, amount=amount
        )
        stake = amount * rate / leverage
        return Proposal(
            pair=pair,
            is_short=side == "short",
            rate=rate,
            amount=amount,
            stake=stake,
            initial_stop=stop,
            first_target=plan.tp_prices[0] if plan.tp_prices else None,
            signal_close=last_value(analyzed, "close"),
            confidence=confidence(analyzed, self.config.confidence_column),
            margin=self._margin_terms(pair, stake, leverage),
            tick=self.host.price_tick(pair),
            fee=self.fee(pair),
        )

    def _margin_terms(self, pair: str, stake: float, leverage: float) -> MarginTerms | None:
        """Futures: the pair's isolated-margin terms from Freqtrade's leverage tiers (the
        bracket Freqtrade picks for this stake) and its `liquidation_buffer`; spot: None."""
        if self.host.config.get("trading_mode") != "futures":
            return None
        exchange = exchange_of(self.host.dp, "the liquidation check of futures entries")
        if exchange is None:
            return None
        rate, amount = exchange.get_maintenance_ratio_and_amt(pair, stake)
        return MarginTerms(
            leverage=leverage,
            maintenance_rate=float(rate),
            maintenance_amount=float(amount or 0.0),
            buffer=float(exchange.liquidation_buffer),
        )

    def fee(self, pair: str) -> float | None:
        """The fee ratio of one fill of `pair` (0.001 = 0.1%), or None when unknown."""
        if pair in self._fees:
            return self._fees[pair]
        configured = self.host.config.get("fee")
        if configured is not None:
            fee: float | None = float(configured)
        else:
            exchange = exchange_of(self.host.dp, "the fee part of STOP_TOO_CLOSE")
            if exchange is None:
                return None  # nothing to ask (a hyperopt worker): not kept
            try:
                fees = [exchange.get_fee(symbol=pair, taker_or_maker=m) for m in ("taker", "maker")]
                known = [float(f) for f in fees if f is not None]
                fee = max(known) if known else None
            except Exception as exc:  # the rule names it "unknown"; logged once per pair
                log.warning("profitguard: no fee for %s from the exchange (%s)", pair, exc)
                fee = None
        self._fees[pair] = fee
        return fee

    def ask(self, pair: str) -> None:
        """Ask for `pair`'s tick and fee now (while the exchange is there)."""
        self.host.price_tick(pair)
        self.fee(pair)


def last_value(dataframe: DataFrame | None, column: str) -> float | None:
    """The last candle's `column` as a float; None when there is none or it is no number."""
    try:
        return float(last_raw(dataframe, column))
    except (TypeError, ValueError):
        return None


def confidence(dataframe: DataFrame | None, column: str) -> float | None:
    """The signal's confidence: None when the strategy supplies no such column (the rule
    does not apply), NaN when it does but the value is no number (refused)."""
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    try:
        return float(last_raw(dataframe, column))
    except (TypeError, ValueError):
        return math.nan
