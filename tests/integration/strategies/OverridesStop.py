"""ScriptedEntries overriding `custom_stoploss`, a hook profitguard implements: the
bot must refuse it at start-up, naming `pg_custom_stoploss`."""

from ScriptedEntries import ScriptedEntries


class OverridesStop(ScriptedEntries):
    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                        **kwargs) -> float:  # fmt: skip
        return -0.5
