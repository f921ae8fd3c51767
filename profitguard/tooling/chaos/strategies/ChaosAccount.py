"""ChaosAccount: ChaosSample's trading for the chaos suite's shared-account scenarios.

ChaosSample's trading, inherited (always in the market, `r_ladder` exits, a stop 0.5%
below the entry, the entry-slippage rule and the losing-streak pause off). Besides, while
`<user_data>/hold-entry` exists, an entry that profitguard's gate and the shared
account admitted (its share reserved) stops inside confirm_trade_entry (in
`pg_confirm_trade_entry`, asked after the gate) before Freqtrade places its order,
after writing `<user_data>/reserved`: the scenario SIGKILLs the bot there.

Not a trading strategy: never run it with money.
"""

import time
from pathlib import Path

from profitguard.tooling.chaos.strategies.ChaosSample import ChaosSample


class ChaosAccount(ChaosSample):
    def pg_confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force,
                               current_time, entry_tag, side, **kwargs) -> bool:  # fmt: skip
        # asked only once the gate admitted the entry (and the shared account reserved it)
        userdir = Path(self.config["user_data_dir"])
        if (userdir / "hold-entry").exists():
            (userdir / "reserved").write_text(pair)
            time.sleep(600)  # SIGKILLed here, between the reservation and the order
        return True
