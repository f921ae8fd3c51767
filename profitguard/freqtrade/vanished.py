"""A pair that disappeared from the exchange mid-trade: one report a loop, not a flood.

When the exchange stops knowing a pair (Binance answers -1121 "Invalid symbol", ccxt
raises `BadSymbol`), Freqtrade keeps asking for its candles, order book and exit every
loop and logs each failure and each retry: about 16 warnings a second (1,200 in 75 s),
none saying what happened or what to do, while the trade can be neither priced nor
exited. In live mode (dry-run asks the same public endpoints), `VanishedPairs` is a
`logging.Filter` on the root logger's handlers (Python's logging, not Freqtrade's
code): it holds back the warnings whose text shows a symbol the exchange does not know,
counts them, and at the start of each bot loop logs one line per vanished pair with its
open trade and what the user can do (sent once per pair as a notification too). A
message of another kind, or of another wording, passes untouched.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

# What ccxt and Binance say when the exchange does not know a symbol
GONE = re.compile(r"BadSymbol|\"code\":\s*-1121|Invalid symbol", re.IGNORECASE)
UNNAMED = "?"  # a held-back warning that names no pair of an open trade


def what_to_do(pair: str, trades: Iterable[Any]) -> str:
    """The report for `pair`: its open trades and what the user can do about them."""
    held = [t for t in trades if t.pair == pair]
    base = pair.split("/")[0]
    if held:
        what = ", ".join(f"trade {t.id} holds {t.amount:g} {base}" for t in held)
        ids = " ".join(f"/delete {t.id}" for t in held)
    else:
        what, ids = "no open trade", ""
    advice = (
        f"if it was delisted, sell the {base} on the exchange yourself, then remove the "
        f"trade from the bot ({ids}, Telegram or the REST API) and {pair} from "
        "pair_whitelist"
        if held
        else f"remove {pair} from pair_whitelist if it was delisted"
    )
    return (
        f"profitguard: {pair} is no longer traded on the exchange (it answers 'Invalid "
        f"symbol'): {what}, which the bot can neither price nor exit. What you can do: "
        f"{advice}; if the pair comes back, the bot carries on by itself"
    )


class VanishedPairs(logging.Filter):
    """Holds back the log warnings about a symbol the exchange does not know, and
    reports them once a loop (`loop`)."""

    def __init__(self, send: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.send = send
        self._pairs: tuple[str, ...] = ()
        self._held: Counter[str] = Counter()
        self._sent: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name.startswith("profitguard"):
            return True
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the handler's business, not ours
            return True
        if not GONE.search(text):
            return True
        if getattr(record, "_pg_held_back", False):
            return False  # counted by the first handler that saw it (there are several)
        record._pg_held_back = True
        named = [p for p in self._pairs if p in text or p.replace("/", "") in text]
        with self._lock:
            for pair in named or [UNNAMED]:
                self._held[pair] += 1
        return False

    def install(self, logger: logging.Logger | None = None) -> None:
        """On every handler of `logger` (the root logger: Freqtrade's handlers)."""
        for handler in (logger or logging.getLogger()).handlers:
            if self not in handler.filters:
                handler.addFilter(self)

    def uninstall(self, logger: logging.Logger | None = None) -> None:
        for handler in (logger or logging.getLogger()).handlers:
            handler.removeFilter(self)

    def loop(self, trades: Iterable[Any]) -> list[str]:
        """Once per bot loop: the report of each pair whose warnings were held back since
        the last loop (logged; sent once per pair), and the open pairs to look for next."""
        trades = list(trades)
        with self._lock:
            held, self._held = self._held, Counter()
            self._pairs = tuple(sorted({t.pair for t in trades}))
        unnamed = held.pop(UNNAMED, 0)
        reports = []
        for pair, count in sorted(held.items()):
            others = f", and {unnamed} naming no pair" if unnamed and not reports else ""
            reports.append(
                f"{what_to_do(pair, trades)} ({count} warnings held back this loop{others})"
            )
            if self.send is not None and pair not in self._sent:
                self._sent.add(pair)
                self.send(what_to_do(pair, trades))
        if unnamed and not held:
            reports.append(
                f"profitguard: the exchange answers 'Invalid symbol' for a pair the bot asks "
                f"for ({unnamed} warnings held back this loop): a pair of pair_whitelist is no "
                "longer traded there; remove it from pair_whitelist"
            )
        for report in reports:
            log.warning(report)
        return reports
