"""Refusals and trading-state changes: counted, logged, sent. Backtesting logs the first
refusals of each rule per run at info, the rest at debug; hyperopt all at debug and one
line per epoch; dry-run and live log and send (`dp.send_msg`, when notifications are on)
each pair, rule and candle once: Freqtrade asks every bot loop."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.gate_text import refusal_table, run_warning
from profitguard.risk.registry import RULES
from profitguard.risk.rules import ONE_TRADE_OPEN
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
        self.pauses = PauseClock()

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
        """The gate itself failed: a GATE_ERROR refusal, sent once per pair and candle (the
        hook's failure log logs the error)."""
        self.checked += 1
        self.refusals[Rule.ERROR.value] += 1
        if self.send is not None and self._first_of_candle(pair, Rule.ERROR, now):
            error = Figure("error", f"{type(exc).__name__}: {exc}", Unit.TEXT)
            self.send(f"profitguard: entry refused for {pair}: {Check(Rule.ERROR, False, error)}")

    def note_state(self, state: TradingState, checks: Iterable[Check], now: datetime) -> None:
        """Log (and send) a change of trading state, with the checks that caused it."""
        checks = tuple(checks)
        self.pauses.note(state, checks, now)
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

    def warning(self) -> str | None:
        """One line when the gate refused most entries or paused most of the run."""
        return run_warning(
            self.refusals,
            self.checked,
            self.pauses.paused(),
            self.pauses.span(),
            {spec.code.value: [s.key for s in spec.settings] for spec in RULES},
        )

    def summary_line(self, name: str, run: str) -> str:
        """One line: the refusal counts of the run (a hyperopt epoch)."""
        counts = ", ".join(f"{code} {n}" for code, n in sorted(self.refusals.items()) if n)
        return (
            f"profitguard risk gate ({name}, {run}): {self.checked} entries checked, "
            f"{sum(self.refusals.values())} refused" + (f" ({counts})" if counts else "")
        )


class PauseClock:
    """How long entries were paused in a run, per rule, as the gate saw it: a pause
    starts at the first entry refused for an account rule and ends at the next entry
    let through, at the `until` the rule gave (a cooldown, the next day), or at the
    last entry seen. The rule is the one that failed first when the pause began."""

    def __init__(self) -> None:
        self.first: datetime | None = None
        self.last: datetime | None = None
        self._since: tuple[datetime, str] | None = None
        self._until: datetime | None = None
        self._paused: Counter[str] = Counter()

    def note(self, state: TradingState, checks: tuple[Check, ...], now: datetime) -> None:
        if self.first is None or now < self.first:
            self.first = now
        if self.last is None or now > self.last:
            self.last = now
        failed = next((c for c in checks if not c.passed), None)
        if state is TradingState.ACTIVE or _limited(failed):
            self._end(now)
            return
        if self._since is not None and self._until is not None and now > self._until:
            self._end(now)  # the pause ran out before this one began
        if self._since is None:
            self._since = (now, failed.rule.value if failed is not None else state.value)
        self._until = _until(failed)

    def _end(self, now: datetime, into: Counter[str] | None = None) -> None:
        if self._since is not None:
            start, rule = self._since
            end = min(now, self._until) if self._until is not None else now
            (self._paused if into is None else into)[rule] += max((end - start).total_seconds(), 0)
            if into is None:
                self._since = self._until = None

    def paused(self) -> dict[str, timedelta]:
        """Rule code -> time paused by it (a pause still on counts up to the last entry)."""
        out = Counter(self._paused)
        if self.last is not None:
            self._end(self.last, out)
        return {rule: timedelta(seconds=s) for rule, s in out.items() if s > 0}

    def span(self) -> timedelta:
        if self.first is None or self.last is None:
            return timedelta()
        return self.last - self.first


def _limited(check: Check | None) -> bool:
    """A losing streak's one trade after its cooldown is open: entries limited, not paused."""
    return check is not None and any(f.name == ONE_TRADE_OPEN for f in check.figures)


def _until(check: Check | None) -> datetime | None:
    """The time a refusing check says its pause ends (None: it names none)."""
    figures = check.figures if check is not None else ()
    return next(
        (f.value for f in figures if f.name == "until" and isinstance(f.value, datetime)), None
    )
