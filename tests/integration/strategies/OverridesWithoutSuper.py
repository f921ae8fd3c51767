"""ScriptedEntries with two overrides that forget super(): a stop 50% away and an
entry confirmation that always says yes. profitguard's stop ladder and risk gate
must act exactly as for ScriptedEntries. Its hyperopt parameter changes nothing: every
hyperopt epoch must trade as the backtest does (the guarded hooks reach the workers)."""

from datetime import datetime

from freqtrade.strategy import IntParameter
from ScriptedEntries import ScriptedEntries


class OverridesWithoutSuper(ScriptedEntries):
    unused = IntParameter(1, 9, default=5, space="buy")

    def custom_stoploss(
        self,
        pair: str,
        trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> float:
        return -0.5

    def confirm_trade_entry(
        self,
        pair: str,
        order_type: str,
        amount: float,
        rate: float,
        time_in_force: str,
        current_time: datetime,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> bool:
        return True
