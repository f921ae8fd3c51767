"""What closed an order or a trade, by its tag: the names in one place.

Take-profit orders are tagged `tp1`, `tp2`, … (`tp1,tp2` for a gap), by the engine.
A stop exit is tagged by Freqtrade with its exit reason (`stop_loss`, or
`trailing_stop_loss` once the stop has moved, `stoploss_on_exchange`), or `stop` by
profitguard when the price is already through the stop and the trade is exited at
once; the kill switch's exits are tagged `kill_switch`.
"""

from __future__ import annotations

from profitguard.engine import STOP_TAG

STOP_TAGS = frozenset({STOP_TAG, "stop_loss", "trailing_stop_loss", "stoploss_on_exchange"})
KILL_TAG = "kill_switch"
