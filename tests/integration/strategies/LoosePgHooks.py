"""ScriptedEntries with its own part of two of profitguard's hooks: a stop 50% away
(`pg_custom_stoploss`) and an entry confirmation that always says yes
(`pg_confirm_trade_entry`). profitguard's stop ladder and risk gate must act exactly
as for ScriptedEntries. Its hyperopt parameter changes nothing: every hyperopt epoch
must trade as the backtest does (the combined hooks reach the workers). Each hook
logs the first time it is asked for a pair, so that a test sees they ran."""

import logging
from datetime import datetime

from freqtrade.strategy import IntParameter
from ScriptedEntries import ScriptedEntries


class LoosePgHooks(ScriptedEntries):
    unused = IntParameter(1, 9, default=5, space="buy")

    def _asked(self, hook: str, pair: str) -> None:
        asked = self.__dict__.setdefault("asked", set())
        if (hook, pair) not in asked:
            asked.add((hook, pair))
            logging.getLogger(__name__).info("LoosePgHooks: %s asked for %s", hook, pair)

    def pg_custom_stoploss(
        self,
        pair: str,
        trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> float:
        self._asked("pg_custom_stoploss", pair)
        return -0.5

    def pg_confirm_trade_entry(
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
        self._asked("pg_confirm_trade_entry", pair)
        return True
