"""Opt in to hyperopting the ladders: strategies whose ladders come from parameters.

    class MyStrategy(ProfitGuardHyperoptStrategy):   # instead of ProfitGuardStrategy
        ...

    freqtrade hyperopt --strategy MyStrategy --spaces profitguard \\
        --hyperopt-loss ProfitGuardRLoss -e 200

The parameters live in a hyperopt space of their own, `profitguard`. A strategy
that subclasses `ProfitGuardStrategy` directly has none, so it sees no change:
Freqtrade's `--spaces default` (what runs without `--spaces`) also selects every
custom space, and would otherwise tune ladders nobody asked to tune.

Here the take-profits, the stop ladder and the trailing distance come from the
parameters (`profitguard.engine.ladder_space` maps them; every point of the space
is a valid ladder); everything else (`tp_stop`, `trail_activation_pct`,
`trail_atr_multiple`) from the settings. The defaults are exactly the settings'
preset (`r_ladder`, or `scaled_pct` for `ProfitGuardPctHyperoptStrategy`), so
without a params file nothing changes. After hyperopt, Freqtrade writes the best
values to `<strategy file>.json` and every later run (backtest, dry-run, live)
loads them from there.

Narrow or widen a range by redefining the parameter in your strategy, with the
same name and `space="profitguard"`; the start-up check refuses a range that
would allow an invalid ladder.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.optimize.hyperopt_tools import HyperoptTools
from freqtrade.strategy import CategoricalParameter, DecimalParameter, IntParameter
from freqtrade.strategy.parameters import BaseParameter

from profitguard.engine import ConfigError, ProtectionConfig
from profitguard.engine.ladder_space import (
    SPACE,
    check_gap,
    check_value,
    ladder_from_params,
    replaced_settings,
)
from profitguard.freqtrade.settings import SECTION, merged_section
from profitguard.freqtrade.strategy import ProfitGuardStrategy

__all__ = ["SPACE", "ProfitGuardHyperoptStrategy", "ProfitGuardPctHyperoptStrategy"]

log = logging.getLogger(__name__)

# Freqtrade's built-in spaces that act on exits; `--spaces default` includes them
FREQTRADE_EXIT_SPACES = ("roi", "stoploss", "trailing")


class _ParameterLadders(ProfitGuardStrategy):
    """The ladders from the `profitguard` hyperopt space, validated at start-up."""

    # the preset the parameters' defaults reproduce; the only one the settings may name
    ladder_preset: ClassVar[str] = "r_ladder"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Parameters are class attributes and Freqtrade sets their values in place:
        # each strategy class gets its own copies, so two strategies in one process
        # (--strategy-list) never share values.
        super().__init_subclass__(**kwargs)
        for name in dir(cls):
            if name.startswith("pg_") and name not in cls.__dict__:
                attr = getattr(cls, name)
                if isinstance(attr, BaseParameter):
                    setattr(cls, name, copy.deepcopy(attr))

    def ladder_parameters(self) -> dict[str, Any]:
        """The current values of the `profitguard` space, by name."""
        return {name: p.value for name, p in self.enumerate_parameters(SPACE)}

    def exit_config(self) -> ProtectionConfig:
        """The settings' ladders with the take-profits, stop ladder and trailing
        distance from the parameters (a new epoch's values in hyperopt)."""
        return ladder_from_params(self.profitguard_settings.exits, self.ladder_parameters())

    def exit_config_key(self) -> Any:
        return tuple(sorted(self.ladder_parameters().items()))

    def ft_bot_start(self, **kwargs: Any) -> None:
        """`ProfitGuardStrategy`'s start-up, then: the space must hold valid ladders
        only, and the settings must not also set what the parameters replace."""
        self._check_preset()
        super().ft_bot_start(**kwargs)
        try:
            self._check_ranges()
        except ConfigError as exc:
            raise OperationalException(f"profitguard: {exc}") from None
        if self.config.get("runmode") is RunMode.HYPEROPT:
            theirs = [s for s in FREQTRADE_EXIT_SPACES if HyperoptTools.has_space(self.config, s)]
            if theirs:
                log.warning(
                    "profitguard: hyperopting %s adds Freqtrade's own exits next to the "
                    "ladders (ROI exits, a changed backstop, Freqtrade's trailing stop); "
                    "to tune the ladders alone use --spaces %s (plus your entry spaces)",
                    ", ".join(f"'{s}'" for s in theirs),
                    SPACE,
                )
        exits = merged_section(self.profitguard_config, self.config).get("exits", {})
        for key in replaced_settings(self.ladder_parameters()):
            if key in exits:
                raise OperationalException(
                    f"profitguard: '{SECTION}.exits.{key}' is set, but "
                    f"{type(self).__name__} takes it from its hyperopt parameters (space "
                    f"'{SPACE}'); remove the setting, or subclass ProfitGuardStrategy instead "
                    "to use it"
                )

    def _check_preset(self) -> None:
        """A preset other than the one the parameters are shaped after is refused: its
        ladders would be replaced by the parameters' (`none` would run them silently)."""
        exits = merged_section(self.profitguard_config, self.config).get("exits", {})
        name = exits.get("preset") if isinstance(exits, Mapping) else None
        if name is not None and name != self.ladder_preset:
            raise OperationalException(
                f"profitguard: '{SECTION}.exits.preset' is {name!r}, but "
                f"{type(self).__name__} takes its ladders from its hyperopt parameters (space "
                f"'{SPACE}'), shaped after {self.ladder_preset!r}; remove the setting (or set "
                f"{self.ladder_preset!r}), or subclass ProfitGuardStrategy instead to use it"
            )

    def _check_ranges(self) -> None:
        """Every point of the declared space must map to a valid ladder."""
        params = dict(self.enumerate_parameters(SPACE))
        for name, param in params.items():
            if isinstance(param, CategoricalParameter):
                ends = list(param.opt_range)
            else:
                ends = [param.low, param.high]
            for end in ends:
                try:
                    check_value(name, end)
                except ConfigError as exc:
                    raise ConfigError(
                        f"the range of {SPACE}.{name} ({', '.join(map(repr, ends))}) allows "
                        f"invalid ladders: {exc}",
                        field=exc.field,
                    ) from None
        gap, first = params.get("pg_sl_lock_gap_r"), params.get("pg_sl1_trigger_r")
        if gap is not None and first is not None:
            check_gap(gap.high, first.low)


class ProfitGuardHyperoptStrategy(_ParameterLadders):
    """`ProfitGuardStrategy` with the `r_ladder` shape hyperoptable (space `profitguard`).

    Three take-profit levels in R with their weights, a five-step stop ladder and a
    trailing stop that hyperopt may switch on. The settings' `tp_unit` must be `r`.
    The defaults are the `r_ladder` preset exactly.
    """

    # take-profits: level 1, then the step to each next level (R); weights / their sum
    pg_tp1_r = DecimalParameter(1.5, 4.0, default=2.0, decimals=1, space=SPACE)
    pg_tp2_step_r = DecimalParameter(0.5, 3.0, default=1.0, decimals=1, space=SPACE)
    pg_tp3_step_r = DecimalParameter(0.5, 3.0, default=1.0, decimals=1, space=SPACE)
    pg_tp1_weight = IntParameter(1, 6, default=2, space=SPACE)
    pg_tp2_weight = IntParameter(1, 6, default=1, space=SPACE)
    pg_tp3_weight = IntParameter(1, 6, default=1, space=SPACE)
    # stop ladder: trigger 1, then the step to each next trigger (R);
    # lock = min(trigger - gap, ratio * trigger)
    pg_sl1_trigger_r = DecimalParameter(0.5, 2.0, default=1.0, decimals=2, space=SPACE)
    pg_sl2_step_r = DecimalParameter(0.25, 1.5, default=0.5, decimals=2, space=SPACE)
    pg_sl3_step_r = DecimalParameter(0.25, 1.5, default=0.5, decimals=2, space=SPACE)
    pg_sl4_step_r = DecimalParameter(0.25, 1.5, default=1.0, decimals=2, space=SPACE)
    pg_sl5_step_r = DecimalParameter(0.25, 1.5, default=1.0, decimals=2, space=SPACE)
    pg_sl_lock_gap_r = DecimalParameter(0.25, 1.25, default=1.0, decimals=2, space=SPACE)
    pg_sl_lock_ratio = DecimalParameter(0.1, 0.9, default=0.5, decimals=2, space=SPACE)
    # trailing from the best price (a ratio), when switched on
    pg_trail = CategoricalParameter([False, True], default=False, space=SPACE)
    pg_trail_pct = DecimalParameter(0.005, 0.1, default=0.03, decimals=3, space=SPACE)


class ProfitGuardPctHyperoptStrategy(_ParameterLadders):
    """`ProfitGuardStrategy` with the `scaled_pct` shape hyperoptable (space `profitguard`).

    Three take-profit levels as profit ratios from entry with their weights, and a
    trailing stop that hyperopt may switch on; the stop ladder (none in
    `scaled_pct`) and `tp_stop` come from the settings, whose `tp_unit` must be
    `pct`. The defaults are the `scaled_pct` preset exactly.
    """

    profitguard_config: ClassVar[dict[str, Any]] = {"exits": {"preset": "scaled_pct"}}
    ladder_preset: ClassVar[str] = "scaled_pct"

    pg_tp1_pct = DecimalParameter(0.01, 0.06, default=0.03, decimals=3, space=SPACE)
    pg_tp2_step_pct = DecimalParameter(0.005, 0.04, default=0.02, decimals=3, space=SPACE)
    pg_tp3_step_pct = DecimalParameter(0.005, 0.04, default=0.03, decimals=3, space=SPACE)
    pg_tp1_weight = IntParameter(1, 6, default=4, space=SPACE)
    pg_tp2_weight = IntParameter(1, 6, default=3, space=SPACE)
    pg_tp3_weight = IntParameter(1, 6, default=3, space=SPACE)
    pg_trail = CategoricalParameter([False, True], default=False, space=SPACE)
    pg_trail_pct = DecimalParameter(0.005, 0.1, default=0.03, decimals=3, space=SPACE)
