"""The Freqtrade adapter: `ProfitGuardStrategy` and the glue to Freqtrade's trades."""

from profitguard.freqtrade.hyperopt import (
    ProfitGuardHyperoptStrategy,
    ProfitGuardPctHyperoptStrategy,
)
from profitguard.freqtrade.strategy import ProfitGuardStrategy

__all__ = ["ProfitGuardHyperoptStrategy", "ProfitGuardPctHyperoptStrategy", "ProfitGuardStrategy"]
