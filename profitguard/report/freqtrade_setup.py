"""Freqtrade's config and strategy, loaded the way Freqtrade's own commands load them.

The report needs the exit ladders in force (the strategy's settings, the config's
`profitguard` section and any hyperopt parameters file) and, for `--check`, the
strategy's initial-stop rule and the candles; all come from here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any


def quiet_freqtrade() -> None:
    """Freqtrade logs every setting it loads at INFO; a report wants its tables only."""
    for name in ("freqtrade", "numexpr", "profitguard.freqtrade"):
        logging.getLogger(name).setLevel(logging.WARNING)


def load_config(
    config_files: list[Path], userdir: Path | None, strategy: str | None, **extra: Any
) -> dict:
    """Freqtrade's resolved config (files merged in order, user dir, strategy)."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode

    args: dict[str, Any] = {"config": [str(p) for p in config_files]}
    if userdir is not None:
        args["user_data_dir"] = str(userdir)
    if strategy:
        args["strategy"] = strategy
    for name, value in extra.items():
        if value is not None:
            args[name] = str(value) if isinstance(value, Path) else value
    logging.disable(logging.INFO)  # Freqtrade logs each setting it reads
    try:
        return Configuration(args, RunMode.OTHER).get_config()
    finally:
        logging.disable(logging.NOTSET)


def load_strategy(config: dict):
    """The strategy of `config`, started as a backtest would (settings validated,
    hyperopt parameters loaded, the ladders in force asked for)."""
    from freqtrade.resolvers import StrategyResolver

    strategy = StrategyResolver.load_strategy(config)
    strategy.ft_bot_start()
    return strategy


def exits_of(strategy) -> Any:
    """The strategy's ladders in force, or None for a strategy that is not profitguard's."""
    return getattr(strategy, "exits_in_force", None)
