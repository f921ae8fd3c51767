"""One line for plain `freqtrade` run on a config made for the offline exchange.

The shipped configs point ccxt at the offline exchange on 127.0.0.1, which
`profitguard offline -- freqtrade …` starts for the command. Typed by habit without
it, `freqtrade backtesting` meets nothing on that port, and ccxt's traceback runs to
hundreds of lines. Freqtrade builds its exchange before it loads a strategy, so
profitguard's own start-up comes too late to say anything; but Freqtrade sets up its
logging from the config's `log_config` first. The shipped configs name this handler
there (beside Freqtrade's own console handler): at the first record saying a
loopback address does not answer, it prints one line saying what to run instead,
before the traceback that follows the retries.
"""

from __future__ import annotations

import logging
import re
import sys

_REFUSED = re.compile(
    r"(?:Cannot connect to host |GET https?://)(?P<host>(?:127\.0\.0\.1|localhost):\d+)"
)


class OfflineExchangeHint(logging.Handler):
    """Says once per process how to reach the offline exchange (stderr, one line)."""

    told = False

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        if OfflineExchangeHint.told:
            return
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted is not ours to judge
            return
        line = hint(message)
        if line is not None:
            OfflineExchangeHint.told = True
            print(line, file=sys.stderr, flush=True)


def hint(message: str) -> str | None:
    """The line for a log message saying the loopback exchange did not answer (None:
    another message)."""
    markets = "reload_markets" in message and "ExchangeNotAvailable" in message
    if not markets and "Cannot connect to host" not in message:
        return None  # a fault of a running exchange is not a missing one
    match = _REFUSED.search(message)
    if match is None:
        return None
    return (
        f"profitguard: nothing answers at {match['host']}, the offline exchange this config "
        "points at: run the command as `profitguard offline -- freqtrade …` (it starts the "
        "exchange for it), or start `profitguard exchange` first"
    )
