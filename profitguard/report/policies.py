"""Exit policies for `profitguard compare`, each a thin subclass of the user's strategy.

A policy changes the exits only: the entries (populate_* of the user's strategy)
stay the same. Each policy is written as a strategy file that loads the user's
strategy class from its file and overrides `exit_config` (the ladders), and for
some policies `initial_stop` (a fixed stop) or Freqtrade's trailing-stop settings.

Entries are made identical across policies by the run (`same_entries`): position
stacking with unlimited open trades and the risk gate's entry rules off, so every
entry signal becomes one trade whatever the exits did before it. Every policy,
the strategy's own included, sizes its entries by risk on the strategy's own
initial stop (`pg_custom_stake_amount` here, `same_entries.risk_stake`: Freqtrade
gets the smaller of it and the gate's), so one R is the same money in every trade of
every policy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    exits: dict | None = None  # `profitguard.exits` settings; None: the strategy's own
    fixed_stop_pct: float | None = None  # a fixed initial stop (ratio) instead of the strategy's
    freqtrade_trailing: dict | None = None  # Freqtrade's trailing_stop settings
    params_file: Path | None = None  # hyperopt parameters of the strategy
    attributes: dict = field(default_factory=dict)

    @property
    def is_baseline(self) -> bool:
        """The strategy's own exits, unchanged: the policy whose initial stops are R's unit."""
        return (
            self.exits is None
            and self.fixed_stop_pct is None
            and self.freqtrade_trailing is None
            and self.params_file is None
        )


def default_policies(stop_pct: float = 0.02, target_pct: float = 0.05) -> list[Policy]:
    """The strategy's own ladders, `scaled_pct`, a fixed stop and target, and
    Freqtrade's own trailing stop (from the strategy's initial stop)."""
    return [
        Policy("strategy", "the strategy's own exits (its ladders)"),
        Policy(
            "scaled_pct",
            "preset scaled_pct: 40% at +3%, 30% at +5%, 30% at +8%",
            exits={"preset": "scaled_pct"},
        ),
        Policy(
            f"fixed {stop_pct:.0%}/{target_pct:.0%}",
            f"preset none: a fixed stop {stop_pct:.0%} below and one target {target_pct:.0%} above",
            exits={"preset": "none", "take_profits": [[target_pct, 1.0]], "tp_unit": "pct"},
            fixed_stop_pct=stop_pct,
        ),
        Policy(
            "freqtrade trailing",
            "preset none (the strategy's initial stop) plus Freqtrade's trailing stop "
            "(1% once +2% is reached)",
            exits={"preset": "none"},
            freqtrade_trailing={
                "trailing_stop": True,
                "trailing_stop_positive": 0.01,
                "trailing_stop_positive_offset": 0.02,
                "trailing_only_offset_is_reached": True,
            },
        ),
    ]


def class_name(strategy: str, policy: Policy, index: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", policy.name).strip("_")
    return f"{strategy}_PG{index}_{slug}"


def wrapper_source(
    strategy: str, strategy_file: Path, policy: Policy, name: str, risk_unit: float
) -> str:
    """A strategy file: `name`, the user's `strategy` with `policy`'s exits, each entry
    sized to lose `risk_unit` at the strategy's own initial stop."""
    lines = [
        f'"""profitguard compare: {strategy} with exit policy {policy.name!r}."""',
        "import importlib.util",
        "import sys",
        "",
        "from profitguard.engine import ProtectionConfig",
        "from profitguard.report.same_entries import risk_stake",
        "",
        f"_spec = importlib.util.spec_from_file_location('pg_compare_base_{name}', "
        f"{str(strategy_file)!r})",
        "_module = importlib.util.module_from_spec(_spec)",
        "sys.modules[_spec.name] = _module",
        "_spec.loader.exec_module(_module)",
        "",
        "",
        f"class {name}(_module.{strategy}):",
    ]
    body = [
        f"    _pg_compare_risk_unit = {risk_unit!r}",
        "",
        "    def pg_custom_stake_amount(self, pair, current_time, current_rate, proposed_stake,",
        "                               min_stake, max_stake, leverage, entry_tag, side,",
        "                               **kwargs):",
        "        # sized on the strategy's own initial stop, whatever stop this policy uses",
        f"        stop = _module.{strategy}.initial_stop(",
        "            self, pair, side, current_rate, current_time,",
        "            dataframe=self.analyzed(pair),",
        "        )",
        "        return risk_stake(",
        "            self._pg_compare_risk_unit, rate=current_rate, initial_stop=stop,",
        "            leverage=leverage,",
        "        )",
        "",
    ]
    if policy.exits is not None:
        body += [
            f"    _pg_policy_exits = ProtectionConfig.from_mapping({json.dumps(policy.exits)}, "
            "source='compare policy')",
            "",
            "    def exit_config(self):",
            "        return self._pg_policy_exits",
            "",
            "    def exit_config_key(self):",
            f"        return {policy.name!r}",
            "",
        ]
    if policy.fixed_stop_pct is not None:
        body += [
            "    def initial_stop(self, pair, side, entry_rate, *args, **kwargs):",
            f"        ratio = {policy.fixed_stop_pct!r}",
            "        sign = -1.0 if side == 'short' else 1.0",
            "        return entry_rate * (1 - sign * ratio)",
            "",
        ]
    for key, value in (policy.freqtrade_trailing or {}).items():
        body.append(f"    {key} = {value!r}")
    for key, value in policy.attributes.items():
        body.append(f"    {key} = {value!r}")
    return "\n".join(lines + body) + "\n"


def write_policy(
    directory: Path,
    strategy: str,
    strategy_file: Path,
    policy: Policy,
    index: int,
    risk_unit: float,
) -> str:
    """Write the policy's strategy (and its parameters file); returns the class name."""
    name = class_name(strategy, policy, index)
    path = directory / f"{name}.py"
    path.write_text(wrapper_source(strategy, strategy_file, policy, name, risk_unit))
    params = policy.params_file
    if params is None and strategy_file.with_suffix(".json").is_file():
        params = strategy_file.with_suffix(".json")  # the strategy's own hyperopt results
    if params is not None:
        data = json.loads(Path(params).read_text())
        data["strategy_name"] = name
        path.with_suffix(".json").write_text(json.dumps(data))
    return name
