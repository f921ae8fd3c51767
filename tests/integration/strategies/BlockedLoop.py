"""AlwaysIn whose bot loop blocks once, as a loop stuck on slow answers does.

At the first loop that starts with its trade open, its loop-start hook writes
`blocked` in the user directory and waits (at most 120 s) until the test writes
`unblock` there: meanwhile the exchange's price moves and the bot sees none of it.
"""

import time
from pathlib import Path

from AlwaysIn import AlwaysIn
from freqtrade.persistence import Trade


class BlockedLoop(AlwaysIn):
    def pg_bot_loop_start(self, current_time, **kwargs) -> None:
        super().pg_bot_loop_start(current_time, **kwargs)
        userdir = Path(self.config["user_data_dir"])
        if (userdir / "blocked").exists():
            return
        if not any(t.amount for t in Trade.get_trades_proxy(is_open=True)):
            return
        (userdir / "blocked").write_text(str(time.time()))
        deadline = time.monotonic() + 120
        while not (userdir / "unblock").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
