"""Hypothesis strategies: random but valid ladders, positions and price paths.

Paths are drawn in R so every ladder level is reachable, and mixed with the
exact level and trigger values so the boundaries themselves are exercised.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from profitguard.engine import (
    LevelUnit,
    Position,
    ProtectionConfig,
    StopLadderStep,
    TakeProfitLevel,
    TakeProfitStop,
    open_position,
)


@dataclass(frozen=True)
class Scenario:
    config: ProtectionConfig
    side: str
    entry: float
    initial_stop: float
    amount: float
    amount_step: float | None
    min_amount: float
    prices: tuple[float, ...]
    atrs: tuple[float | None, ...]
    fires: tuple[bool, ...]  # per price: may take-profits exit there (False: observed only)
    min_notional: float  # exchange minimum order value (quote currency)

    @property
    def is_short(self) -> bool:
        return self.side == "short"

    def open(self) -> Position:
        return open_position(
            self.config,
            side=self.side,
            entry=self.entry,
            initial_stop=self.initial_stop,
            amount=self.amount,
            amount_step=self.amount_step,
            min_amount=self.min_amount,
        )


def _ascending(draw, n: int, first: st.SearchStrategy, gap: st.SearchStrategy) -> list[float]:
    values: list[float] = []
    for i in range(n):
        values.append(draw(first) if i == 0 else values[-1] + draw(gap))
    return values


@st.composite
def scenarios(draw, *, with_atr: bool = False, min_levels: int = 0) -> Scenario:
    side = draw(st.sampled_from(["long", "short"]))
    sign = -1 if side == "short" else 1
    entry = draw(st.floats(0.01, 100_000))
    risk_ratio = draw(st.floats(0.002, 0.1))  # initial stop distance as a ratio of entry
    initial_stop = entry * (1 - sign * risk_ratio)

    # take-profit levels, drawn in R and converted to a profit ratio for pct ladders
    n_levels = draw(st.integers(min_levels, 5))
    levels_r = _ascending(draw, n_levels, st.floats(0.2, 3), st.floats(0.05, 1.5))
    unit = draw(st.sampled_from([LevelUnit.R, LevelUnit.PCT]))
    levels = [lv * risk_ratio for lv in levels_r] if unit is LevelUnit.PCT else levels_r
    fractions = draw(st.lists(st.floats(0.01, 1), min_size=n_levels, max_size=n_levels))
    total = sum(fractions)
    take_profits = tuple(
        TakeProfitLevel(level=lv, fraction=fr / total)
        for lv, fr in zip(levels, fractions, strict=True)
    )

    n_steps = draw(st.integers(0, 5))
    locks = _ascending(draw, n_steps, st.floats(-0.9, 1), st.floats(0.05, 1))
    triggers: list[float] = []
    for lock in locks:
        trigger = lock + draw(st.floats(0.1, 1.5))
        if triggers and trigger <= triggers[-1]:
            trigger = triggers[-1] + draw(st.floats(0.05, 1))
        triggers.append(max(trigger, 0.05))
    stop_ladder = tuple(
        StopLadderStep(trigger_r=t, lock_r=lk) for t, lk in zip(triggers, locks, strict=True)
    )

    trail_pct = draw(st.none() | st.floats(0.2, 3).map(lambda r: min(r * risk_ratio, 0.9)))
    activation = draw(st.sampled_from([0.0, 0.0, risk_ratio, 2 * risk_ratio]))
    atr_multiple = draw(st.none() | st.floats(0.5, 4)) if with_atr else None
    config = ProtectionConfig(
        take_profits=take_profits,
        tp_unit=unit,
        stop_ladder=stop_ladder,
        tp_stop=draw(st.sampled_from(list(TakeProfitStop))),
        trail_pct=trail_pct,
        trail_activation_pct=activation,
        trail_atr_multiple=atr_multiple,
    )

    # amounts on an exchange grid (step 10^-k) or free; the minimum is drawn
    # relative to the amount so that levels below it, and no minimum, are common
    step_exp = draw(st.none() | st.integers(0, 6))
    min_ratio = draw(st.sampled_from([0.0, 0.0, 0.02, 0.1, 0.2, 0.35]))
    if step_exp is None:
        amount_step = None
        amount = draw(st.floats(0.001, 10_000))
        min_amount = amount * min_ratio
    else:
        amount_step = 10.0**-step_exp
        steps = draw(st.integers(1, 100_000))
        amount = round(steps * amount_step, step_exp)
        min_amount = round(int(steps * min_ratio) * amount_step, step_exp)

    # the path, in R: free values, plus the exact boundaries of this ladder
    marks = [0.0, -1.0, *levels_r, *triggers]
    r_values = st.floats(-1.5, 6) | st.sampled_from(marks)
    path_r = draw(st.lists(r_values, min_size=1, max_size=40))
    prices = tuple(entry * (1 + sign * r * risk_ratio) for r in path_r)
    atrs: tuple[float | None, ...] = tuple(
        draw(st.none() | st.floats(0.1, 3).map(lambda k: k * risk_ratio * entry))
        if with_atr
        else None
        for _ in prices
    )
    fires = tuple(draw(st.booleans()) or draw(st.booleans()) for _ in prices)  # ~75% True
    min_notional = amount * entry * draw(st.sampled_from([0.0, 0.0, 0.0, 0.05, 0.2]))
    return Scenario(
        config=config,
        side=side,
        entry=entry,
        initial_stop=initial_stop,
        amount=amount,
        amount_step=amount_step,
        min_amount=min_amount,
        prices=prices,
        atrs=atrs,
        fires=fires,
        min_notional=min_notional,
    )
