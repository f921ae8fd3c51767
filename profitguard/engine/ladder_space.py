"""Ladders from hyperopt parameter values: a pure mapping, valid at every point of the space.

The parameters describe a ladder so that any values inside the declared ranges
give a valid `ProtectionConfig` (nothing to reject, nothing to normalize with a
warning):

- take-profits: the first level, then a positive step to each next level (so the
  levels always ascend); the fractions are integer (or any positive) weights
  divided by their sum. `pg_tp1_r` / `pg_tp2_step_r` are in R; `pg_tp1_pct` /
  `pg_tp2_step_pct` are profit ratios from entry (0.03 = +3%). The names carry the
  unit, and it must be the `tp_unit` of the settings the parameters replace.
- stop ladder (R): the first trigger, then a positive step to each next trigger;
  each lock is `min(trigger - pg_sl_lock_gap_r, pg_sl_lock_ratio * trigger)`: the
  stop follows the peak `gap` R behind, but never locks more than `ratio` of the
  peak. Both terms rise strictly with the trigger and stay below it, so locks
  ascend and sit below their triggers; `gap < 1 + first trigger` keeps every lock
  above the initial stop (-1R).
- trailing: `pg_trail` (on/off) and `pg_trail_pct` (the distance, a ratio).

A group of parameters that is absent leaves that part of the settings' ladder as
it is. Every value is checked with a message naming the parameter: loaded values
(a hand-edited params file) are validated like any setting.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from profitguard.engine.protection_config import (
    ConfigError,
    LevelUnit,
    ProtectionConfig,
    StopLadderStep,
    TakeProfitLevel,
)

SPACE = "profitguard"

# ndigits for level sums: 0.05 + 0.03 prints as 0.08, steps are far above this
_LEVEL_DIGITS = 10

_TP_FIRST = re.compile(r"pg_tp1_(r|pct)")
_TP_STEP = re.compile(r"pg_tp(\d+)_step_(r|pct)")
_TP_WEIGHT = re.compile(r"pg_tp(\d+)_weight")
_SL_FIRST = "pg_sl1_trigger_r"
_SL_STEP = re.compile(r"pg_sl(\d+)_step_r")
_SL_GAP = "pg_sl_lock_gap_r"
_SL_RATIO = "pg_sl_lock_ratio"
_TRAIL = "pg_trail"
_TRAIL_PCT = "pg_trail_pct"

# names suggested for a misspelling
_EXAMPLE_NAMES = (
    "pg_tp1_r",
    "pg_tp1_pct",
    "pg_tp2_step_r",
    "pg_tp2_step_pct",
    "pg_tp1_weight",
    "pg_tp2_weight",
    _SL_FIRST,
    "pg_sl2_step_r",
    _SL_GAP,
    _SL_RATIO,
    _TRAIL,
    _TRAIL_PCT,
)


def _kind(name: str) -> str | None:
    """What a parameter name stands for, or None if it is not one of ours."""
    if _TP_FIRST.fullmatch(name):
        return "tp_first"
    if (m := _TP_STEP.fullmatch(name)) and int(m.group(1)) >= 2:
        return "tp_step"
    if (m := _TP_WEIGHT.fullmatch(name)) and int(m.group(1)) >= 1:
        return "tp_weight"
    if name == _SL_FIRST:
        return "sl_first"
    if (m := _SL_STEP.fullmatch(name)) and int(m.group(1)) >= 2:
        return "sl_step"
    if name == _SL_GAP:
        return "sl_gap"
    if name == _SL_RATIO:
        return "sl_ratio"
    if name == _TRAIL:
        return "trail"
    if name == _TRAIL_PCT:
        return "trail_pct"
    return None


# kind -> (lower bound, upper bound), both exclusive; None: unbounded
_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "tp_first": (0.0, None),
    "tp_step": (0.0, None),
    "tp_weight": (0.0, None),
    "sl_first": (0.0, None),
    "sl_step": (0.0, None),
    "sl_gap": (0.0, None),  # and below 1 + the first trigger (checked together)
    "sl_ratio": (0.0, 1.0),
    "trail_pct": (0.0, 1.0),
}


def _where(name: str) -> str:
    return f"{SPACE}.{name}"


def check_value(name: str, value: Any) -> float | bool:
    """The value of parameter `name`, checked on its own; raises `ConfigError`."""
    kind = _kind(name)
    if kind is None:
        message = f"unknown hyperopt parameter {_where(name)!r}"
        close = difflib.get_close_matches(name, _EXAMPLE_NAMES, n=1)
        message += f". Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(message, field=_where(name))
    if kind == "trail":
        if not isinstance(value, bool):
            raise ConfigError(
                f"{_where(name)!r} must be true or false, was {value!r}", field=_where(name)
            )
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(
            f"{_where(name)!r} must be a finite number, was {value!r}", field=_where(name)
        )
    low, high = _BOUNDS[kind]
    if (low is not None and value <= low) or (high is not None and value >= high):
        bounds = f"> {low:g}" if high is None else f"in ({low:g}, {high:g})"
        raise ConfigError(f"{_where(name)!r} must be {bounds}, was {value!r}", field=_where(name))
    return float(value)


def check_gap(gap: float, first_trigger: float) -> None:
    """Every lock must stay above the initial stop: gap < 1 + the first trigger."""
    if gap >= 1.0 + first_trigger:
        raise ConfigError(
            f"{_where(_SL_GAP)!r} must be below 1 + {_where(_SL_FIRST)!r} "
            f"({1.0 + first_trigger:g}) so that every lock stays above the initial stop, "
            f"was {gap!r}",
            field=_where(_SL_GAP),
        )


def _numbered(values: Mapping[str, Any], pattern: re.Pattern, what: str) -> dict[int, str]:
    """{index: name} of the names matching `pattern`, indices contiguous from 2."""
    found = {int(m.group(1)): n for n in values if (m := pattern.fullmatch(n))}
    for i in sorted(found):
        if i > 2 and i - 1 not in found:
            raise ConfigError(
                f"{_where(found[i])!r} needs {what} {i - 1} as well (levels are numbered "
                "without gaps)",
                field=_where(found[i]),
            )
    return found


def _require(values: Mapping[str, Any], name: str, because: str) -> Any:
    if name not in values:
        raise ConfigError(f"{_where(name)!r} is missing ({because})", field=_where(name))
    return values[name]


def _take_profits(
    base: ProtectionConfig, values: Mapping[str, Any]
) -> tuple[TakeProfitLevel, ...] | None:
    firsts = [n for n in values if _TP_FIRST.fullmatch(n)]
    steps = _numbered(values, _TP_STEP, "the step of level")
    weights = {int(m.group(1)): n for n in values if (m := _TP_WEIGHT.fullmatch(n))}
    if not (firsts or steps or weights):
        return None
    if len(firsts) != 1:
        names = " or ".join(repr(_where(f"pg_tp1_{u.value}")) for u in LevelUnit)
        raise ConfigError(
            f"take-profit parameters need exactly one first level, {names}; found "
            f"{sorted(firsts) or 'none'}",
            field=_where("pg_tp1_r"),
        )
    unit = LevelUnit(_TP_FIRST.fullmatch(firsts[0]).group(1))
    for name in steps.values():
        if not name.endswith(f"_{unit.value}"):
            raise ConfigError(
                f"{_where(name)!r} is not in the unit of {_where(firsts[0])!r} ({unit.value})",
                field=_where(name),
            )
    if unit != base.tp_unit:
        field = f"{base.source}.tp_unit" if base.source else "tp_unit"
        raise ConfigError(
            f"the take-profit parameters are in {unit.value!r} ({_where(firsts[0])}) but "
            f"{field!r} is {base.tp_unit.value!r}; use parameters in the settings' unit",
            field=field,
        )
    count = 1 + len(steps)
    for i in weights:
        if i > count:
            raise ConfigError(
                f"{_where(weights[i])!r} has no level {i} (there are {count} levels)",
                field=_where(weights[i]),
            )
    level = check_value(firsts[0], values[firsts[0]])
    levels = [level]
    for i in range(2, count + 1):
        level = round(level + check_value(steps[i], values[steps[i]]), _LEVEL_DIGITS)
        levels.append(level)
    raw = [
        check_value(f"pg_tp{i}_weight", _require(values, f"pg_tp{i}_weight", "one per level"))
        for i in range(1, count + 1)
    ]
    total = math.fsum(raw)
    return tuple(
        TakeProfitLevel(level=lv, fraction=w / total) for lv, w in zip(levels, raw, strict=True)
    )


def _stop_ladder(values: Mapping[str, Any]) -> tuple[StopLadderStep, ...] | None:
    steps = _numbered(values, _SL_STEP, "the step of stop")
    present = [n for n in (_SL_FIRST, _SL_GAP, _SL_RATIO) if n in values]
    if not (present or steps):
        return None
    because = "the stop-ladder parameters go together"
    trigger = check_value(_SL_FIRST, _require(values, _SL_FIRST, because))
    gap = check_value(_SL_GAP, _require(values, _SL_GAP, because))
    ratio = check_value(_SL_RATIO, _require(values, _SL_RATIO, because))
    check_gap(gap, trigger)
    triggers = [trigger]
    for i in range(2, 2 + len(steps)):
        trigger = round(trigger + check_value(steps[i], values[steps[i]]), _LEVEL_DIGITS)
        triggers.append(trigger)
    return tuple(StopLadderStep(trigger_r=t, lock_r=min(t - gap, ratio * t)) for t in triggers)


def ladder_from_params(
    base: ProtectionConfig, values: Mapping[str, Any], *, source: str = SPACE
) -> ProtectionConfig:
    """`base` with its take-profits, stop ladder and trailing distance from `values`.

    `values` maps parameter names (the `profitguard` hyperopt space) to values; a
    group that is absent keeps `base`'s. Raises `ConfigError` naming the parameter.
    """
    for name, value in values.items():
        check_value(name, value)
    changes: dict[str, Any] = {}
    if (take_profits := _take_profits(base, values)) is not None:
        changes["take_profits"] = take_profits
    if (stop_ladder := _stop_ladder(values)) is not None:
        changes["stop_ladder"] = stop_ladder
    if _TRAIL in values or _TRAIL_PCT in values:
        because = "the trailing parameters go together"
        on = _require(values, _TRAIL, because)
        distance = _require(values, _TRAIL_PCT, because)
        changes["trail_pct"] = float(distance) if on else None
    return replace(base, source=source, **changes)


def replaced_settings(values: Mapping[str, Any]) -> tuple[str, ...]:
    """The `exits` settings whose values the parameters replace."""
    kinds = {_kind(n) for n in values}
    replaced = []
    if kinds & {"tp_first", "tp_step", "tp_weight"}:
        replaced.append("take_profits")
    if kinds & {"sl_first", "sl_step", "sl_gap", "sl_ratio"}:
        replaced.append("stop_ladder")
    if kinds & {"trail", "trail_pct"}:
        replaced.append("trail_pct")
    return tuple(replaced)


def tp_unit_of(values: Mapping[str, Any]) -> LevelUnit | None:
    """The take-profit unit the parameter names carry (None: no take-profit parameters)."""
    for name in values:
        if m := _TP_FIRST.fullmatch(name):
            return LevelUnit(m.group(1))
    return None
