"""What one entry's fills cost, for the STOP_TOO_CLOSE rule: the pair's price tick and
the fee ratio of one fill.

The fee is the config's `fee` when set (as Freqtrade's backtester and dry-run take it),
else the worst of the exchange's taker and maker fee for the pair (the backtester's
choice too). Both are asked once per pair and kept: hyperopt's workers get the strategy
without an exchange, after the main process analyzed every pair and asked here."""

from __future__ import annotations

import logging
from typing import Any

from profitguard.freqtrade.internals import exchange_of

log = logging.getLogger(__name__)


class EntryCosts:
    def __init__(self, host: Any) -> None:
        self.host = host  # a GateHost: its config, dp and `price_tick`
        self._fees: dict[str, float | None] = {}

    def tick(self, pair: str) -> float | None:
        return self.host.price_tick(pair)

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
        self.tick(pair)
        self.fee(pair)
