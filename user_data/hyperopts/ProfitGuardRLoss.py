"""ProfitGuardRLoss for `freqtrade hyperopt --hyperopt-loss ProfitGuardRLoss`.

Freqtrade loads loss classes only from files in `user_data/hyperopts/` (or
`--hyperopt-path`) that define them, so this file defines a subclass of the one in
the profitguard package. Copy it into your own `user_data/hyperopts/`. Set
`drawdown_weight` here to weigh the drawdown differently (default 1.0).
"""

from profitguard.freqtrade.loss import ProfitGuardRLoss as _ProfitGuardRLoss


class ProfitGuardRLoss(_ProfitGuardRLoss):
    """Expectancy in R, net of the worst drawdown in R: see profitguard/freqtrade/loss.py."""
