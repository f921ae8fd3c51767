"""Exit configuration: take-profit ladders, the stop ladder, trailing; validated once.

A `ProtectionConfig` is frozen and keyword-only. Everything is checked in
`__post_init__` and a bad value raises `ConfigError` naming the field and the
value, so a bot never runs with a protection config other than what the user
wrote. The one repair we make: take-profit fractions
that do not sum to 1 are normalized, with a warning naming the old sum.

Units: take-profit levels are R-multiples (`LevelUnit.R`) or profit ratios from
entry (`LevelUnit.PCT`, 0.03 = +3%); stop-ladder triggers and locks are R;
trailing distances and activations are ratios.
"""

from __future__ import annotations

import difflib
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

log = logging.getLogger("profitguard.engine")

FRACTION_SUM_TOLERANCE = 1e-9


class ConfigError(ValueError):
    """An invalid protection setting; the message names the field and the value.

    `field` is the setting's path ("take_profits[1].level"), for callers that
    translate it (the CLI names its own flag).
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class LevelUnit(StrEnum):
    """What a take-profit level is measured in."""

    R = "r"  # R-multiples of the initial risk
    PCT = "pct"  # profit ratio from entry: 0.03 = +3%


class TakeProfitStop(StrEnum):
    """Where the stop goes after a take-profit level fires.

    LADDER: the stop ladder decides, never below breakeven once TP1 has fired.
    PREVIOUS_LEVEL: after TP1 to breakeven, after TP(n) to the price of TP(n-1).
    """

    LADDER = "ladder"
    PREVIOUS_LEVEL = "previous_level"


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeProfitLevel:
    """Close `fraction` of the ORIGINAL amount when profit reaches `level`."""

    level: float
    fraction: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StopLadderStep:
    """Once peak R reaches `trigger_r`, the stop locks at `lock_r` (both in R)."""

    trigger_r: float
    lock_r: float


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name!r} must be a number, was {value!r}", field=name)
    if not math.isfinite(value):
        raise ConfigError(f"{name!r} must be finite, was {value!r}", field=name)
    return float(value)


def _above_zero(name: str, value: Any) -> float:
    number = _number(name, value)
    if number <= 0:
        raise ConfigError(f"{name!r} must be > 0, was {value!r}", field=name)
    return number


def _enum(name: str, enum: type[StrEnum], value: Any) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise ConfigError(f"{name!r} must be one of {allowed}, was {value!r}", field=name) from None


def _normalized(levels: tuple[TakeProfitLevel, ...]) -> tuple[TakeProfitLevel, ...]:
    total = math.fsum(level.fraction for level in levels)
    if abs(total - 1.0) <= FRACTION_SUM_TOLERANCE:
        return levels
    log.warning(
        "take_profits fractions sum to %s, not 1; normalized to %s",
        f"{total:g}",
        ", ".join(f"{lv.fraction / total:.6g}" for lv in levels),
    )
    return tuple(replace(lv, fraction=lv.fraction / total) for lv in levels)


def _instance(name: str, item: Any, cls: type) -> None:
    if not isinstance(item, cls):
        raise ConfigError(f"'{name}' must be a {cls.__name__}, was {item!r}", field=name)


def _ascending(name: str, what: str, item: str, i: int, items: tuple, attr: str) -> None:
    """`items[i].attr` must be above `items[i - 1].attr` (ladders only ever climb)."""
    value, before = getattr(items[i], attr), getattr(items[i - 1], attr)
    if value <= before:
        raise ConfigError(
            f"'{name}' {what} must be strictly ascending, "
            f"{item} {i + 1} is {value!r} after {before!r}",
            field=f"{name}[{i}].{attr}",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtectionConfig:
    """How a position is protected and scaled out. Defaults are the `r_ladder` preset."""

    take_profits: tuple[TakeProfitLevel, ...] = (
        TakeProfitLevel(level=2.0, fraction=0.5),
        TakeProfitLevel(level=3.0, fraction=0.25),
        TakeProfitLevel(level=4.0, fraction=0.25),
    )
    tp_unit: LevelUnit = LevelUnit.R
    stop_ladder: tuple[StopLadderStep, ...] = (
        StopLadderStep(trigger_r=1.0, lock_r=0.0),
        StopLadderStep(trigger_r=1.5, lock_r=0.5),
        StopLadderStep(trigger_r=2.0, lock_r=1.0),
        StopLadderStep(trigger_r=3.0, lock_r=1.5),
        StopLadderStep(trigger_r=4.0, lock_r=2.0),
    )
    tp_stop: TakeProfitStop = TakeProfitStop.LADDER
    trail_pct: float | None = None
    trail_activation_pct: float = 0.0
    trail_atr_multiple: float | None = None
    # where this config came from, for error messages ("profitguard.exits")
    source: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalizing our own fields, never the caller's
        prefix = f"{self.source}." if self.source else ""

        set_(self, "tp_unit", _enum(f"{prefix}tp_unit", LevelUnit, self.tp_unit))
        set_(self, "tp_stop", _enum(f"{prefix}tp_stop", TakeProfitStop, self.tp_stop))

        levels = tuple(self.take_profits)
        for i, lv in enumerate(levels):
            _instance(f"{prefix}take_profits[{i}]", lv, TakeProfitLevel)
            level = _above_zero(f"{prefix}take_profits[{i}].level", lv.level)
            _above_zero(f"{prefix}take_profits[{i}].fraction", lv.fraction)
            if self.tp_unit is LevelUnit.PCT and level >= 1:
                raise ConfigError(
                    f"'{prefix}take_profits[{i}].level' is {lv.level!r} with 'tp_unit' 'pct', "
                    f"a profit of {level:.0%}: levels in 'pct' are ratios (0.03 = +3%); did you "
                    f"mean {level / 100:g}?",
                    field=f"{prefix}take_profits[{i}].level",
                )
            if i:
                _ascending(f"{prefix}take_profits", "levels", "level", i, levels, "level")
        set_(self, "take_profits", _normalized(levels) if levels else ())

        steps = tuple(self.stop_ladder)
        for i, st in enumerate(steps):
            _instance(f"{prefix}stop_ladder[{i}]", st, StopLadderStep)
            trigger = _above_zero(f"{prefix}stop_ladder[{i}].trigger_r", st.trigger_r)
            lock = _number(f"{prefix}stop_ladder[{i}].lock_r", st.lock_r)
            if not -1.0 < lock < trigger:
                raise ConfigError(
                    f"'{prefix}stop_ladder[{i}].lock_r' must be above the initial stop (-1R) "
                    f"and below its trigger ({st.trigger_r!r}R), was {st.lock_r!r}",
                    field=f"{prefix}stop_ladder[{i}].lock_r",
                )
            if i:
                _ascending(f"{prefix}stop_ladder", "triggers", "step", i, steps, "trigger_r")
                _ascending(f"{prefix}stop_ladder", "locks", "step", i, steps, "lock_r")
        set_(self, "stop_ladder", steps)

        if self.trail_pct is not None:
            trail = _number(f"{prefix}trail_pct", self.trail_pct)
            if not 0 < trail < 1:
                raise ConfigError(
                    f"'{prefix}trail_pct' must be in (0, 1), was {self.trail_pct!r}",
                    field=f"{prefix}trail_pct",
                )
        activation = _number(f"{prefix}trail_activation_pct", self.trail_activation_pct)
        if activation < 0:
            raise ConfigError(
                f"'{prefix}trail_activation_pct' must be >= 0, was {self.trail_activation_pct!r}",
                field=f"{prefix}trail_activation_pct",
            )
        if self.trail_atr_multiple is not None:
            _above_zero(f"{prefix}trail_atr_multiple", self.trail_atr_multiple)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str = "") -> ProtectionConfig:
        """Build from JSON-like data (a Freqtrade config section, CLI flags).

        Keys: `preset` (r_ladder, scaled_pct, none) gives the defaults, the other
        keys override it. `take_profits` is a list of `[level, fraction]` pairs or
        `{"level":…, "fraction":…}` objects; `stop_ladder` is a list of
        `[trigger_r, lock_r]` pairs or objects, or "none". An unknown key is an
        error that suggests the closest known one.
        """
        prefix = f"{source}." if source else ""
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"{source or 'config'!r} must be a mapping, was {raw!r}", field=source
            )
        check_known_keys(
            raw, {"preset", *(f.name for f in fields(cls) if f.name != "source")}, source
        )

        base = preset(raw.get("preset", "r_ladder"), source=f"{prefix}preset")
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key == "preset":
                continue
            if key == "take_profits":
                value = parse_take_profits(value, name=f"{prefix}take_profits")
            elif key == "stop_ladder":
                value = parse_stop_ladder(value, name=f"{prefix}stop_ladder")
            values[key] = value
        unit = _enum(f"{prefix}tp_unit", LevelUnit, values.get("tp_unit", base.tp_unit))
        if unit is not base.tp_unit and "take_profits" not in raw and base.take_profits:
            # the preset's levels read in another unit: 2R would become +200%
            levels = ", ".join(f"{lv.level:g}" for lv in base.take_profits)
            raise ConfigError(
                f"'{prefix}tp_unit' is {unit.value!r} but the take-profit levels are "
                f"the preset's, in {base.tp_unit.value!r} ({levels}); give "
                f"'{prefix}take_profits' in {unit.value!r} too, or a preset in that unit",
                field=f"{prefix}tp_unit",
            )
        return replace(base, source=source, **values)


def check_known_keys(raw: Iterable[str], known: Iterable[str], where: str = "") -> None:
    """Every key of `raw` is a known setting; the first unknown one is a ConfigError
    naming it (`where.key`) and the closest known one."""
    known = frozenset(known)
    for key in raw:
        if key not in known:
            name = f"{where}.{key}" if where else str(key)
            raise ConfigError(unknown_key_message(name, key, known), field=name)


def unknown_key_message(name: str, key: str, known: Iterable[str]) -> str:
    message = f"unknown setting {name!r}"
    close = difflib.get_close_matches(key, sorted(known), n=1)
    if close:
        message += f". Did you mean {close[0]!r}?"
    else:
        message += f"; known settings: {', '.join(sorted(known))}"
    return message


def _pairs(value: Any, name: str, keys: tuple[str, str]) -> list[tuple[Any, Any]]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(f"{name!r} must be a list, was {value!r}", field=name)
    out = []
    for i, item in enumerate(value):
        if isinstance(item, Mapping):
            extra = set(item) - set(keys)
            if extra or set(keys) - set(item):
                raise ConfigError(
                    f"'{name}[{i}]' must have exactly the keys {keys}, was {item!r}", field=name
                )
            out.append((item[keys[0]], item[keys[1]]))
        elif isinstance(item, list | tuple) and len(item) == 2:
            out.append((item[0], item[1]))
        else:
            raise ConfigError(
                f"'{name}[{i}]' must be a pair {list(keys)}, was {item!r}", field=name
            )
    return out


def parse_take_profits(value: Any, *, name: str = "take_profits") -> tuple[TakeProfitLevel, ...]:
    if value in ("none", None):
        return ()
    return tuple(
        TakeProfitLevel(level=lv, fraction=fr)
        for lv, fr in _pairs(value, name, ("level", "fraction"))
    )


def parse_stop_ladder(value: Any, *, name: str = "stop_ladder") -> tuple[StopLadderStep, ...]:
    if value in ("none", None):
        return ()
    return tuple(
        StopLadderStep(trigger_r=t, lock_r=lk)
        for t, lk in _pairs(value, name, ("trigger_r", "lock_r"))
    )


R_LADDER = ProtectionConfig()
SCALED_PCT = ProtectionConfig(
    take_profits=(
        TakeProfitLevel(level=0.03, fraction=0.4),
        TakeProfitLevel(level=0.05, fraction=0.3),
        TakeProfitLevel(level=0.08, fraction=0.3),
    ),
    tp_unit=LevelUnit.PCT,
    stop_ladder=(),
    tp_stop=TakeProfitStop.PREVIOUS_LEVEL,
)
NO_LADDERS = ProtectionConfig(take_profits=(), stop_ladder=())

PRESETS: dict[str, ProtectionConfig] = {
    "r_ladder": R_LADDER,
    "scaled_pct": SCALED_PCT,
    "none": NO_LADDERS,
}


def preset(name: str, *, source: str = "preset") -> ProtectionConfig:
    """The named preset (`r_ladder`, `scaled_pct`, `none`)."""
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"{source!r} must be one of {', '.join(map(repr, PRESETS))}, was {name!r}",
            field=source,
        ) from None
