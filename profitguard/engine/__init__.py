"""The pure exit engine. No Freqtrade import anywhere in this package."""

from profitguard.engine.config import (
    NO_LADDERS,
    PRESETS,
    R_LADDER,
    SCALED_PCT,
    ConfigError,
    LevelUnit,
    ProtectionConfig,
    StopLadderStep,
    TakeProfitLevel,
    TakeProfitStop,
    preset,
)
from profitguard.engine.position import Plan, Position, PositionError, make_plan, open_position
from profitguard.engine.states import IllegalTransition, ProtectionState
from profitguard.engine.step import (
    STOP_TAG,
    Candle,
    CandleTick,
    Decision,
    ExitRecord,
    rebuild,
    replay,
    replay_candles,
    step,
)

__all__ = [
    "NO_LADDERS",
    "PRESETS",
    "R_LADDER",
    "SCALED_PCT",
    "STOP_TAG",
    "Candle",
    "CandleTick",
    "ConfigError",
    "Decision",
    "ExitRecord",
    "IllegalTransition",
    "LevelUnit",
    "Plan",
    "Position",
    "PositionError",
    "ProtectionConfig",
    "ProtectionState",
    "StopLadderStep",
    "TakeProfitLevel",
    "TakeProfitStop",
    "make_plan",
    "open_position",
    "preset",
    "rebuild",
    "replay",
    "replay_candles",
    "step",
]
