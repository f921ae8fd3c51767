"""Refusals and trading-state changes: counted, logged (bounded in backtesting), sent.

Backtesting logs the first refusals of each rule per run at info and the rest at
debug (all counted); hyperopt logs them at debug and one summary line per epoch;
dry-run and live log and send (through `dp.send_msg`, when notifications are on) each
pair, rule and candle once, the repeats at debug: Freqtrade asks every bot loop, and a
refusal that holds for a candle would otherwise be sent a few times a second."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.report import refusal_table
from profitguard.risk.state import TradingState

log = logging.getLogger("profitguard.freqtrade.gate")

# Under the refusal counts: Freqtrade's own table counts something else.
GATE_VS_FREQTRADE = (
    "  (refused by profitguard after Freqtrade placed the signal in a free slot: not in\n"
    "  Freqtrade's 'Rejected Entry signals', which counts signals it dropped for lack of\n"
    "  a free trade slot, max_open_trades)"
)
# In backtesting, refusals logged at info per rule and run; the rest at debug (all counted).
BACKTEST_LOG_LIMIT = 20
RECENT_KEPT = 20  # dry-run and live: the last refusals, for the status file


class RefusalLog:
    def __init__(
        self,
        *,
        persistent: bool,
        per_run_summary: bool,
        candle: timedelta,
        send: Callable[[str], None] | None,
    ) -> None:
        self.persistent = persistent
        self.per_run_summary = per_run_summary  # hyperopt: quiet, a line per epoch
        self.candle = candle
        self.send = send  # dp.send_msg when notifications are on
        self.start_run()

    def start_run(self) -> None:
        self.refusals: Counter[str] = Counter()
        self.recent: deque[tuple[datetime, str, Check]] = deque(maxlen=RECENT_KEPT)
        self.checked = 0
        self.state = TradingState.ACTIVE
        self._logged: Counter[str] = Counter()
        self._told: dict[tuple[str, str], int] = {}  # (pair, rule) -> candle last told

    def tell(self, level: int, message: str) -> None:
        log.log(level, message)
        if self.send is not None:
            self.send(message)

    def refused(self, pair: str, check: Check, now: datetime) -> None:
        """Count a refusal and log (and send) it."""
        self.refusals[check.rule.value] += 1
        if self.persistent:
            self.recent.append((now, pair, check))  # the dashboard's last events
        level, note = self._level(pair, check, now)
        send = self.send is not None and level > logging.DEBUG
        if not send and not log.isEnabledFor(level):
            return  # counted; nobody reads the message
        candle = "" if self.persistent else f" (candle {now:%Y-%m-%d %H:%M} UTC)"
        message = f"profitguard: entry refused for {pair}{candle}: {check.message()}{note}"
        log.log(level, message)
        if send:
            self.send(message)

    def _level(self, pair: str, check: Check, now: datetime) -> tuple[int, str]:
        if self.per_run_summary:
            return logging.DEBUG, ""
        if not self.persistent:
            self._logged[check.rule.value] += 1
            shown = self._logged[check.rule.value]
            if shown > BACKTEST_LOG_LIMIT:
                return logging.DEBUG, ""
            if shown == BACKTEST_LOG_LIMIT:
                note = f" (further {check.rule.value} refusals are counted, not logged)"
                return logging.INFO, note
            return logging.INFO, ""
        return (logging.INFO if self._first_of_candle(pair, check.rule, now) else logging.DEBUG), ""

    def _first_of_candle(self, pair: str, rule: Rule, now: datetime) -> bool:
        """True for the first refusal of `pair` by `rule` in the candle holding `now`
        (dry-run and live: Freqtrade asks every loop)."""
        candle = int(now.timestamp() // self.candle.total_seconds())
        if self._told.get((pair, rule.value)) == candle:
            return False
        self._told[(pair, rule.value)] = candle
        return True

    def failed(self, pair: str, exc: Exception, now: datetime) -> None:
        """The gate itself failed on an entry: counted as a GATE_ERROR refusal, and sent
        once per pair and candle (the error itself is logged by the hook's failure log)."""
        self.checked += 1
        check = Check(Rule.ERROR, False, Figure("error", f"{type(exc).__name__}: {exc}", Unit.TEXT))
        self.refusals[check.rule.value] += 1
        if self.send is not None and self._first_of_candle(pair, check.rule, now):
            self.send(f"profitguard: entry refused for {pair}: {check.message()}")

    def note_state(self, state: TradingState, checks: Iterable[Check]) -> None:
        """Log (and send) a change of trading state, with the checks that caused it."""
        if state is self.state:
            return
        reasons = "; ".join(c.message() for c in checks if not c.passed) or "every limit clear"
        previous, self.state = self.state, state
        level = logging.INFO if state is TradingState.ACTIVE else logging.WARNING
        if not self.persistent:
            self._logged["state"] += 1
            if self._logged["state"] > BACKTEST_LOG_LIMIT or self.per_run_summary:
                level = logging.DEBUG
        self.tell(level, f"profitguard: trading state {previous} -> {state}: {reasons}")

    def summary(self, name: str) -> str:
        table = refusal_table(
            self.refusals, self.checked, title=f"profitguard risk gate ({name}, last run)"
        )
        return f"{table}\n{GATE_VS_FREQTRADE}" if self.refusals else table

    def summary_line(self, name: str, run: str) -> str:
        """One line: the refusal counts of the run (a hyperopt epoch)."""
        counts = ", ".join(f"{code} {n}" for code, n in sorted(self.refusals.items()) if n)
        return (
            f"profitguard risk gate ({name}, {run}): {self.checked} entries checked, "
            f"{sum(self.refusals.values())} refused" + (f" ({counts})" if counts else "")
        )
