"""A position under protection: its fixed plan and its evolving state.

Internally prices are "signed": x = price for a long, x = -price for a short, so
that "better" is always "larger" and one code path serves both sides. The
`Plan` turns the configuration into absolute signed prices once, when the
position opens; processing a price is then a handful of float comparisons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from profitguard.engine.amounts import round_down, step_decimals
from profitguard.engine.protection_config import LevelUnit, ProtectionConfig, TakeProfitStop
from profitguard.engine.states import ProtectionState

# Comparisons at a level/stop boundary tolerate this many R, so that the same
# path scaled by a constant (or computed through another float route) decides
# the same way. 1e-9 R is far below any price tick.
R_TOLERANCE = 1e-9


class PositionError(ValueError):
    """An invalid position input; the message names the field and the value."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PositionError(f"{name!r} must be a number, was {value!r}", field=name)
    if not math.isfinite(value) or value <= 0:
        raise PositionError(f"{name!r} must be a finite number > 0, was {value!r}", field=name)
    return float(value)


def tp_tag(index: int) -> str:
    """The exit tag of take-profit level `index` (0-based): tp1, tp2, …"""
    return f"tp{index + 1}"


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything fixed when the position opens, in signed prices."""

    config: ProtectionConfig
    is_short: bool
    entry: float
    initial_stop: float
    amount: float  # the ORIGINAL amount; take-profit fractions refer to it
    amount_step: float | None
    min_amount: float
    sign: float  # +1 long, -1 short
    risk: float  # |entry - initial stop|, one R, in price
    tol: float  # R_TOLERANCE in price
    decimals: int  # of the amount step
    entry_x: float
    initial_x: float
    tp_x: tuple[float, ...]  # level prices (signed)
    tp_cum: tuple[float, ...]  # cumulative fractions: tp_cum[k] = fractions of levels < k
    # tp_target[k]: the amount levels 1..k close together (tp_cum[k] of the amount,
    # rounded down to the step; the last level: all of it); tp_target[0] = 0
    tp_target: tuple[float, ...]
    ladder_trigger_x: tuple[float, ...]
    ladder_lock_x: tuple[float, ...]
    tp_stop_previous: bool
    trail_factor: float | None  # stop_x = best_x * trail_factor
    trail_activation_x: float
    atr_multiple: float | None

    @property
    def side(self) -> str:
        return "short" if self.is_short else "long"

    @property
    def tp_prices(self) -> tuple[float, ...]:
        return tuple(self.sign * x for x in self.tp_x)

    def r(self, price: float) -> float:
        """R-multiple of `price`."""
        return (self.sign * price - self.entry_x) / self.risk

    def price_at_r(self, r: float) -> float:
        return self.sign * (self.entry_x + r * self.risk)


class Position(NamedTuple):
    """The state of one position after some prices. Immutable; `step` returns a new one."""

    plan: Plan
    state: ProtectionState
    stop_x: float  # stop in force (signed)
    best_x: float  # best price since entry (signed): the peak
    worst_x: float  # worst price since entry (signed): the adverse excursion
    closed: float  # amount closed so far
    realized_profit: float  # quote currency, no fees
    levels_taken: int  # levels done: reached by the peak AND covered by the closed amount
    levels_filled: int  # levels whose cumulative target the closed amount covers

    @property
    def stop(self) -> float:
        """The stop in force, as a price."""
        return self.plan.sign * self.stop_x

    @property
    def remaining(self) -> float:
        return 0.0 if self.state.is_closed else self.plan.amount - self.closed

    @property
    def peak_price(self) -> float:
        return self.plan.sign * self.best_x

    @property
    def peak_r(self) -> float:
        return (self.best_x - self.plan.entry_x) / self.plan.risk

    @property
    def worst_r(self) -> float:
        """Maximum adverse excursion in R (negative when the price went against us)."""
        return (self.worst_x - self.plan.entry_x) / self.plan.risk

    @property
    def stop_r(self) -> float:
        return (self.stop_x - self.plan.entry_x) / self.plan.risk


def one_r(*, entry: float, initial_stop: float, amount: float = 1.0) -> float:
    """One R: what `amount` entered at `entry` loses at its initial stop (amount 1: in
    price). Every figure in R, the engine's, the reports' and the gate's, divides by it."""
    return amount * abs(entry - initial_stop)


def r_of_price(price: float, *, entry: float, initial_stop: float, is_short: bool) -> float:
    """The R-multiple of `price`: its move from the entry in the trade's favour, in R."""
    move = entry - price if is_short else price - entry
    return move / one_r(entry=entry, initial_stop=initial_stop)


def check_initial_stop(*, side: str, entry: float, initial_stop: float) -> tuple[float, float]:
    """(entry, initial stop) as floats, when the stop can define one R: a finite price
    > 0 on the loss side of the entry (below it for a long, above it for a short)."""
    if side not in ("long", "short"):
        raise PositionError(f"'side' must be 'long' or 'short', was {side!r}", field="side")
    entry = _positive("entry", entry)
    initial_stop = _positive("initial_stop", initial_stop)
    is_short = side == "short"
    if (not is_short and initial_stop >= entry) or (is_short and initial_stop <= entry):
        where = "above" if is_short else "below"
        raise PositionError(
            f"'initial_stop' must be {where} the entry ({entry!r}) for a {side}, "
            f"was {initial_stop!r}",
            field="initial_stop",
        )
    return entry, initial_stop


def make_plan(
    config: ProtectionConfig,
    *,
    side: str,
    entry: float,
    initial_stop: float,
    amount: float,
    amount_step: float | None = None,
    min_amount: float = 0.0,
) -> Plan:
    """Validate the opening values and precompute the signed prices of every rule."""
    entry, initial_stop = check_initial_stop(side=side, entry=entry, initial_stop=initial_stop)
    is_short = side == "short"
    amount = _positive("amount", amount)
    if amount_step is not None:
        amount_step = _positive("amount_step", amount_step)
    if isinstance(min_amount, bool) or not isinstance(min_amount, int | float):
        raise PositionError(
            f"'min_amount' must be a number, was {min_amount!r}", field="min_amount"
        )
    if not math.isfinite(min_amount) or min_amount < 0:
        raise PositionError(
            f"'min_amount' must be a finite number >= 0, was {min_amount!r}", field="min_amount"
        )

    sign = -1.0 if is_short else 1.0
    entry_x = sign * entry
    initial_x = sign * initial_stop
    risk = one_r(entry=entry, initial_stop=initial_stop)  # entry_x - initial_x, exactly

    if config.tp_unit is LevelUnit.R:
        tp_x = tuple(entry_x + lv.level * risk for lv in config.take_profits)
    else:
        tp_x = tuple(sign * entry * (1.0 + sign * lv.level) for lv in config.take_profits)
    # tp_cum[n] is never read: the final level closes all that remains (step)
    cum = [0.0]
    for lv in config.take_profits:
        cum.append(cum[-1] + lv.fraction)

    decimals = step_decimals(amount_step) if amount_step is not None else 0
    trail_factor = None
    if config.trail_pct is not None:
        trail_factor = 1.0 - sign * config.trail_pct
    return Plan(
        config=config,
        is_short=is_short,
        entry=entry,
        initial_stop=initial_stop,
        amount=amount,
        amount_step=amount_step,
        min_amount=float(min_amount),
        sign=sign,
        risk=risk,
        tol=risk * R_TOLERANCE,
        decimals=decimals,
        entry_x=entry_x,
        initial_x=initial_x,
        tp_x=tp_x,
        tp_cum=tuple(cum),
        tp_target=tuple(
            amount if k == len(cum) - 1 else round_down(c * amount, amount_step, decimals)
            for k, c in enumerate(cum)
        ),
        ladder_trigger_x=tuple(entry_x + s.trigger_r * risk for s in config.stop_ladder),
        ladder_lock_x=tuple(entry_x + s.lock_r * risk for s in config.stop_ladder),
        tp_stop_previous=config.tp_stop is TakeProfitStop.PREVIOUS_LEVEL,
        trail_factor=trail_factor,
        trail_activation_x=sign * entry * (1.0 + sign * config.trail_activation_pct),
        atr_multiple=config.trail_atr_multiple,
    )


def open_position(
    config: ProtectionConfig,
    *,
    side: str,
    entry: float,
    initial_stop: float,
    amount: float,
    amount_step: float | None = None,
    min_amount: float = 0.0,
) -> Position:
    """A new position: stop at the initial stop, nothing closed, INITIAL_RISK."""
    plan = make_plan(
        config,
        side=side,
        entry=entry,
        initial_stop=initial_stop,
        amount=amount,
        amount_step=amount_step,
        min_amount=min_amount,
    )
    return Position(
        plan=plan,
        state=ProtectionState.INITIAL_RISK,
        stop_x=plan.initial_x,
        best_x=plan.entry_x,
        worst_x=plan.entry_x,
        closed=0.0,
        realized_profit=0.0,
        levels_taken=0,
        levels_filled=0,
    )
