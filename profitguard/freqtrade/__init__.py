"""The Freqtrade adapter: `ProfitGuardStrategy` and the glue to Freqtrade's trades."""

from profitguard.freqtrade.strategy import ProfitGuardStrategy

__all__ = ["ProfitGuardStrategy"]
