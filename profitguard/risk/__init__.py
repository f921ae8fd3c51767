"""The pre-trade risk gate and position sizing. No Freqtrade import here.

Pure rules over plain values (`book`: the account, its positions and closed
trades, the proposed entry) return `Check`s; `pipeline.evaluate` runs them in
order and stops at the first refusal; `sizing.size` sizes a stake; `state` is the
admin's pause and kill switch as a value. No file, lock or database here: the state
is kept by `profitguard.guard_store`; the Freqtrade glue is `profitguard.freqtrade.gate`.
"""

from profitguard.risk.book import Account, ClosedTrade, MarginTerms, OpenPosition, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import RiskConfig, SizingConfig, SizingMethod
from profitguard.risk.pipeline import Verdict, account_state, evaluate
from profitguard.risk.sizing import Sizing, size
from profitguard.risk.state import GuardState, GuardStateError, TradingState

__all__ = [
    "Account",
    "Check",
    "ClosedTrade",
    "Figure",
    "GuardState",
    "GuardStateError",
    "MarginTerms",
    "OpenPosition",
    "Proposal",
    "RiskConfig",
    "Rule",
    "Sizing",
    "SizingConfig",
    "SizingMethod",
    "TradingState",
    "Unit",
    "Verdict",
    "account_state",
    "evaluate",
    "size",
]
