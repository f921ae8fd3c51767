"""The files a user hands profitguard: a hyperopt params file and a Freqtrade OHLCV
file. Library code: a bad file is a ValueError naming the file and what is wrong
(the command that asked for it names its flag)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from profitguard.engine import Candle
from profitguard.engine.ladder_space import SPACE


def load_params(path: Path) -> tuple[str, dict[str, Any]]:
    """(strategy name, values of the `profitguard` space) of a Freqtrade params file."""
    if not path.is_file():
        raise ValueError(f"no such file: {str(path)!r}")
    try:
        content = json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not JSON: {exc}") from None
    params = content.get("params") if isinstance(content, dict) else None
    values = params.get(SPACE) if isinstance(params, dict) else None
    if not isinstance(values, dict) or not values:
        raise ValueError(
            f"{str(path)!r} has no 'params.{SPACE}' values (expected a "
            "params file written by freqtrade hyperopt for a ProfitGuardHyperoptStrategy)"
        )
    return str(content.get("strategy_name", "?")), values


def load_candles(path: Path, since_ms: int | None = None) -> list[Candle]:
    """Candles from a Freqtrade OHLCV file (.json, .feather, .parquet), from
    `since_ms` (ms since the epoch) on; possibly none."""
    if not path.is_file():
        raise ValueError(f"no such file: {str(path)!r}")
    if path.suffix not in (".json", ".feather", ".parquet"):
        raise ValueError(f"{str(path)!r} is not .json, .feather or .parquet")
    try:
        if path.suffix == ".json":
            rows = json.loads(path.read_text())
            stamped = [
                (int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows
            ]
        else:
            import pandas as pd

            frame = pd.read_feather(path) if path.suffix == ".feather" else pd.read_parquet(path)
            dates = pd.to_datetime(frame["date"], utc=True).dt.as_unit("ms").astype("int64")
            stamped = list(
                zip(
                    dates.tolist(),
                    *(frame[c].astype(float).tolist() for c in ("open", "high", "low", "close")),
                    strict=True,
                )
            )
    except (ValueError, KeyError, IndexError, TypeError, OSError) as exc:
        raise ValueError(f"{str(path)!r} is not Freqtrade OHLCV: {exc}") from None
    return [
        Candle(datetime.fromtimestamp(ts / 1000, UTC), o, h, lo, c)
        for ts, o, h, lo, c in stamped
        if since_ms is None or ts >= since_ms
    ]
