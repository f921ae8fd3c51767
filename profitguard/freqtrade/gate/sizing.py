"""The stake of an entry (`custom_stake_amount`): `risk.sizing.size` with the equity
of the gate's account and the inputs it reads from Freqtrade: the entry's initial
stop, the recent R's (Kelly), the signal candle's ATR (volatility sizing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from profitguard.freqtrade.gate.frames import last_value
from profitguard.freqtrade.gate.history import ClosedHistory
from profitguard.freqtrade.gate.host import GateHost
from profitguard.freqtrade.initial_stop import check_returned_stop
from profitguard.risk.config import RiskConfig, SizingMethod
from profitguard.risk.sizing import Sizing, size


@dataclass(frozen=True, slots=True)
class StakeAsk:
    """What `custom_stake_amount` asks: the stake of an entry of `pair` at `rate`."""

    pair: str
    now: datetime
    rate: float
    proposed_stake: float
    min_stake: float | None
    max_stake: float
    leverage: float
    side: str


class EntryStop:
    """The strategy's initial stop for an entry, checked; asked once per entry (sizing
    asks first, then the gate, with the same pair, side, rate and time)."""

    def __init__(self, host: GateHost) -> None:
        self.host = host
        self._last: tuple[tuple, float] | None = None

    def of(self, pair: str, side: str, rate: float, now: datetime, analyzed) -> float:
        key = (pair, side, rate, now)
        if self._last is not None and self._last[0] == key:
            return self._last[1]  # sizing asked a moment ago, for this very entry
        stop = self.host.initial_stop(pair, side, rate, now, dataframe=analyzed)
        check_returned_stop(stop, rate, side)
        self._last = (key, float(stop))
        return float(stop)


class Sizer:
    def __init__(
        self,
        host: GateHost,
        config: RiskConfig,
        history: ClosedHistory,
        stops: EntryStop,
    ) -> None:
        self.host = host
        self.config = config
        self.history = history
        self.stops = stops

    def size(self, ask: StakeAsk, equity: float) -> Sizing:
        """`ask`'s stake with `equity` (the gate's account, read for this very entry)."""
        analyzed = self.host.analyzed(ask.pair)
        stop = self.stops.of(ask.pair, ask.side, ask.rate, ask.now, analyzed)
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
            rate=ask.rate,
            initial_stop=stop,
            leverage=ask.leverage,
            proposed_stake=ask.proposed_stake,
            min_stake=ask.min_stake,
            max_stake=ask.max_stake,
            max_stake_ratio=self.config.max_stake_ratio,
            r_history=r_history,
            atr=atr,
        )
