"""Glue between a Freqtrade trade and the engine: confirmed fills in, exit stakes out.

The engine state of a trade is rebuilt from Freqtrade's own records: its filled
orders (the source of truth for what was closed; the amounts, not the tags, say
which levels are done) plus a small persisted record in the trade's custom data
(the initial stop, the peak). Nothing lives on the trade object itself, and nothing
on it is changed: Freqtrade hands callbacks a copy of it in dry-run and live, and in
backtesting the trade itself (`trade_copy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from freqtrade.strategy import stoploss_from_absolute

from profitguard.engine import STOP_TAG, Decision, ExitRecord, Plan, Position

# One JSON object per trade under one key. No '_' or '%': Freqtrade matches
# custom-data keys with SQL ILIKE, where both are wildcards.
STATE_KEY = "profitguard"
STATE_VERSION = 1
TAG_SEPARATOR = ","

# ccxt precision modes (freqtrade.exchange re-exports them from ccxt)
_DECIMAL_PLACES = 2
_TICK_SIZE = 4


class CorruptTradeState(RuntimeError):
    """The persisted record of a trade cannot be read; the trade's stop is left alone."""


def exit_tag(tags: tuple[str, ...]) -> str:
    """The order tag for an exit covering `tags`: ("tp1", "tp2") -> "tp1,tp2"."""
    return TAG_SEPARATOR.join(tags)


def filled_exits(trade: Any) -> list[ExitRecord]:
    """Confirmed exits of `trade`, oldest first (partially filled orders count what filled)."""
    return [
        ExitRecord(
            o.safe_filled,
            o.safe_price,
            tuple((o.ft_order_tag or "").split(TAG_SEPARATOR)) if o.ft_order_tag else (),
        )
        for o in trade.select_filled_orders(trade.exit_side)
    ]


def original_amount(trade: Any) -> float:
    """The amount the trade opened with (all filled entries, after base-currency fees)."""
    return math.fsum(o.safe_amount_after_fee for o in trade.select_filled_orders(trade.entry_side))


def fills_signature(trade: Any) -> tuple:
    """Changes whenever the trade's confirmed fills may have: a new order (filled,
    cancelled or open), or a fill or fee correction (which changes the amount)."""
    return (len(trade.orders), trade.amount)


def amount_step(trade: Any) -> float | None:
    """The exchange's amount step for the trade's pair, as Freqtrade recorded it."""
    precision = trade.amount_precision
    if precision is None:
        return None
    if trade.precision_mode == _TICK_SIZE:
        return float(precision)
    if trade.precision_mode == _DECIMAL_PLACES:
        return 10.0 ** -int(precision)
    return None  # significant digits: no fixed step; Freqtrade truncates


def exit_minimum(
    min_stake: float | None, stoploss: float, reserve_percent: float, *, live: bool
) -> float:
    """The smallest value Freqtrade lets a partial exit leave behind, from the
    `min_stake` it hands `adjust_trade_position`.

    Dry-run and live hand over the entry minimum, reserved for a stoploss of 0,
    but refuse a partial exit whose remainder is below the minimum reserved for
    the strategy's `stoploss` (on the cost limit; at most 1.5x): a level whose
    remainder fell between the two would be asked for, refused, on every loop.
    Scaling by the ratio of the two reserves gives that minimum, or a little more
    when the amount limit decides. Backtesting hands over and checks one figure.
    """
    if not min_stake:
        return 0.0
    if not live:
        return min_stake
    margin = 1.0 + reserve_percent

    def reserve(stop: float) -> float:  # Freqtrade's Exchange._get_stake_amount_limit
        ratio = margin / (1 - abs(stop)) if abs(stop) != 1 else 1.5
        return max(min(ratio, 1.5), 1.0)

    return min_stake * reserve(stoploss) / reserve(0.0)


def stop_ratio(stop: float, rate: float, *, is_short: bool, leverage: float) -> float:
    """Freqtrade's `stoploss_from_absolute`, made exact for Freqtrade's round trip.

    Freqtrade rebuilds the stop as rate * (1 -/+ ratio / leverage) and rounds it to
    the tick towards the tight side (up for a long, down for a short), so a rebuilt
    stop a float hair on the tight side of `stop` would land a whole tick tighter.
    The ratio is raised by the few ulps that put the rebuilt stop on `stop` or an
    ulp on its loose side, which the rounding then brings back onto the tick.
    """
    ratio = stoploss_from_absolute(stop, rate, is_short=is_short, leverage=leverage)
    if not ratio > 0:
        return ratio
    gap = _rebuilt_stop(ratio, rate, is_short, leverage) - stop
    if (gap < 0) if is_short else (gap > 0):  # on the tight side: step back
        ratio += abs(gap) / rate * leverage
        for _ in range(64):
            back = _rebuilt_stop(ratio, rate, is_short, leverage)
            if (back >= stop) if is_short else (back <= stop):
                break
            ratio = math.nextafter(ratio, math.inf)
    return ratio


def _rebuilt_stop(ratio: float, rate: float, is_short: bool, leverage: float) -> float:
    """The stop Freqtrade makes of `ratio` (LocalTrade.adjust_stop_loss, before rounding)."""
    return rate * (1 + abs(ratio / leverage)) if is_short else rate * (1 - abs(ratio / leverage))


def exit_order(trade: Any, decision: Decision) -> tuple[float, str] | None:
    """`adjust_trade_position`'s answer for the engine's `decision`: (a negative stake,
    the exit's tag), or None when it exits nothing. Through the stop already: all of
    the trade, tagged `STOP_TAG`."""
    if not decision.exit_amount:
        return None
    if STOP_TAG in decision.exit_tags:
        return -trade.stake_amount, STOP_TAG
    return exit_stake(trade, decision.exit_amount, amount_step(trade)), exit_tag(decision.exit_tags)


def exit_stake(trade: Any, amount: float, step: float | None) -> float:
    """The negative stake that makes Freqtrade exit exactly `amount` of `trade`.

    Freqtrade converts a stake back to an amount as |stake| * amount / stake_amount
    and truncates to the step, so float noise could cost a whole step: we ask for
    half a step more, which truncation takes off again. All that remains is asked
    for with the trade's exact stake.
    """
    if amount >= trade.amount:
        return -trade.stake_amount
    padded = amount + step / 2 if step else amount
    return -min(padded * trade.stake_amount / trade.amount, trade.stake_amount)


@dataclass(slots=True)
class TradeMemo:
    """What profitguard keeps for one open trade, in memory and in custom data."""

    trade_id: int
    opened_at: Any  # the trade's open_date: tells a reused id apart
    initial_stop: float
    best: float  # best price seen since entry (the peak)
    worst: float  # worst price seen since entry
    stop_floor: float | None = None  # persisted stop, for ATR trailing only
    notified: set[str] = field(default_factory=set)
    plan: Plan | None = None
    plan_key: tuple = ()
    written: dict | None = None  # what custom data holds now
    # The confirmed engine state after the last price, valid while the trade's
    # fills are unchanged (`fills` = a cheap signature of them, see `fills_signature`).
    position: Position | None = None
    fills: tuple = ()

    def record(self) -> dict:
        """The JSON written to the trade's custom data."""
        data: dict[str, Any] = {
            "v": STATE_VERSION,
            "initial_stop": self.initial_stop,
            "best": self.best,
            "worst": self.worst,
            "notified": sorted(self.notified),
        }
        if self.stop_floor is not None:
            data["stop"] = self.stop_floor
        return data

    @classmethod
    def from_record(cls, data: Any, *, trade_id: int, opened_at: Any) -> TradeMemo:
        """Read a record back; a record we cannot trust raises `CorruptTradeState`."""

        def number(key: str, *, optional: bool = False) -> float | None:
            value = data.get(key)
            if value is None and optional:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CorruptTradeState(
                    f"trade {trade_id}: custom data '{STATE_KEY}.{key}' is {value!r}"
                )
            if not math.isfinite(value) or value <= 0:
                raise CorruptTradeState(
                    f"trade {trade_id}: custom data '{STATE_KEY}.{key}' is {value!r}"
                )
            return float(value)

        if not isinstance(data, dict) or data.get("v") != STATE_VERSION:
            raise CorruptTradeState(f"trade {trade_id}: custom data '{STATE_KEY}' is {data!r}")
        # 'skipped' (levels passed below the minimum), written by earlier versions, is
        # not read: the closed amount says which levels are done
        notified = data.get("notified", [])
        if not isinstance(notified, list) or not all(isinstance(n, str) for n in notified):
            raise CorruptTradeState(
                f"trade {trade_id}: custom data '{STATE_KEY}.notified' is {notified!r}"
            )
        memo = cls(
            trade_id=trade_id,
            opened_at=opened_at,
            initial_stop=number("initial_stop"),
            best=number("best"),
            worst=number("worst"),
            stop_floor=number("stop", optional=True),
            notified=set(notified),
        )
        memo.written = memo.record()
        return memo
