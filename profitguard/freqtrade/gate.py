"""The risk gate inside Freqtrade: entries, stakes, the kill switch and the status file.

`ProfitGuardStrategy` delegates to one `RiskGate`:
- `confirm_trade_entry` → `confirm`: the account (equity from Freqtrade's wallets,
  open trades with their stops in force, closed trades as of now) and the
  proposed entry go through `risk.pipeline.evaluate`; a refusal is counted,
  logged and sent through `dp.send_msg`;
- `custom_stake_amount` → `stake`: `risk.sizing.size` within the stake cap and
  Freqtrade's min/max stake;
- `should_exit` → `kill_due`: while the kill switch is on, every open trade exits
  in full with Freqtrade's emergency exit (a market order; exit reason `kill_switch`);
- `bot_loop_start` → `loop`: re-reads the guard file, logs changes of trading
  state, writes the status file `profitguard guard status` shows.

Backtesting and hyperopt: the trade history is Freqtrade's simulated one as of
the candle (no lookahead); the guard state is a fresh ACTIVE one for each run,
never read from or written to disk; the refusal counts of the last run are
printed when `freqtrade backtesting` ends. Dry-run and live: the guard file and
the status file live in `user_data/`, the guard state's copy in the trades database.
"""

from __future__ import annotations

import atexit
import bisect
import itertools
import logging
import math
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from freqtrade.exceptions import OperationalException
from pandas import DataFrame

from profitguard.engine import make_plan
from profitguard.freqtrade import ledger
from profitguard.freqtrade.trades import STATE_KEY, CorruptTradeState, TradeMemo, original_amount
from profitguard.risk import rules
from profitguard.risk.book import Account, ClosedTrade, MarginTerms, OpenPosition, Proposal
from profitguard.risk.checks import Check, Figure, Rule, Unit
from profitguard.risk.config import RiskConfig, SizingMethod
from profitguard.risk.guard_copy import GuardCopy
from profitguard.risk.pipeline import (
    account_state,
    entry_limits,
    evaluate,
    in_force,
    portfolio_checks,
)
from profitguard.risk.report import refusal_table
from profitguard.risk.rules import StreakFold
from profitguard.risk.sizing import size
from profitguard.risk.state import (
    GUARD_FILE,
    STATUS_FILE,
    GuardFile,
    GuardState,
    GuardStateError,
    TradingState,
    write_json_atomic,
)

log = logging.getLogger(__name__)

KILL_TAG = "kill_switch"
# Under the refusal counts: Freqtrade's own table counts something else.
GATE_VS_FREQTRADE = (
    "  (refused by profitguard after Freqtrade placed the signal in a free slot: not in\n"
    "  Freqtrade's 'Rejected Entry signals', which counts signals it dropped for lack of\n"
    "  a free trade slot, max_open_trades)"
)
# In backtesting, refusals logged at info per rule and run; the rest at debug (all counted).
BACKTEST_LOG_LIMIT = 20
STATUS_INTERVAL_S = 1.0
# Closed trades are fetched incrementally: those closed after the latest seen, less this margin.
_CLOSED_MARGIN = timedelta(hours=1)


class RiskGate:
    def __init__(
        self,
        strategy: Any,
        config: RiskConfig,
        *,
        persistent: bool,
        notify: bool,
        timeframe_seconds: int,
        summary_at_exit: bool = False,
        summary_per_run: bool = False,
    ) -> None:
        self.strategy = strategy
        # hyperopt: refusals and state changes at debug, one summary line per epoch
        self.summary_per_run = summary_per_run
        self.config = config
        self.persistent = persistent
        self.notify = notify
        self.guard_file: GuardFile | None = None
        self.status_path: Path | None = None
        if persistent:
            userdir = Path(strategy.config["user_data_dir"])
            db_url = strategy.config.get("db_url")
            if not db_url:  # Freqtrade sets it in dry-run and live: nowhere to keep the copy
                raise OperationalException(
                    "profitguard: no 'db_url' in the config: the kill switch is kept in the "
                    "trades database too, so a lost guard file cannot lift it"
                )
            self.guard_file = GuardFile(userdir / GUARD_FILE, GuardCopy(db_url))
            self.status_path = userdir / STATUS_FILE
        self._candle = timedelta(seconds=timeframe_seconds)
        self._last_stop: tuple[tuple, float] | None = None
        self._last_status = -math.inf
        self.start_run()
        if summary_at_exit:
            atexit.register(self.print_summary)

    def start_run(self) -> None:
        """A new backtest run or hyperopt epoch (the strategy tells): start afresh."""
        if self.summary_per_run and getattr(self, "checked", 0):
            log.info(self.summary_line("epoch"))
        self.refusals: Counter[str] = Counter()
        self.checked = 0
        self.state = TradingState.ACTIVE
        self.last_entry: tuple[str, datetime, tuple[Check, ...]] | None = None
        self._forget_closed()
        self._leverage: dict[str, float] = {}
        self._logged: Counter[str] = Counter()
        self._last_logged: dict[str, tuple] = {}
        self._kill_logged: set[int] = set()

    # ------------------------------------------------------------- the guard

    def guard(self) -> GuardState | GuardStateError:
        """The admin's switches (re-read when the file changed), or why they cannot be read."""
        if self.guard_file is None:
            return GuardState()
        try:
            return self.guard_file.read()
        except GuardStateError as exc:
            return exc

    def halted(self) -> bool:
        """The kill switch is on (or was, when last read, and the file is now broken)."""
        guard = self.guard()
        if isinstance(guard, GuardStateError):
            return guard.last_good is not None and guard.last_good.halted
        return guard.halted

    def kill_due(self, trade: Any) -> bool:
        """While the kill switch is on: `trade` is to exit in full now (False while its
        kill order is open: placed already, wait for it)."""
        if not self.halted() or not trade.has_open_position:
            return False
        if any(o.ft_order_tag == KILL_TAG for o in trade.open_orders):
            return False
        if trade.id not in self._kill_logged:
            self._kill_logged.add(trade.id)
            self._tell(
                logging.WARNING,
                f"profitguard: kill switch on: exiting {trade.pair} (trade {trade.id}) in full "
                "with a market order",
            )
        return True

    # ----------------------------------------------------------- the account

    def equity(self) -> float:
        """The capital Freqtrade trades with: open stakes at cost plus the free stake
        currency, times `tradable_balance_ratio` (or `available_capital` + closed profit)."""
        wallets = getattr(self.strategy, "wallets", None)
        if wallets is None:
            raise RuntimeError("Freqtrade's wallets are not available: no equity to check")
        return float(wallets.get_total_stake_amount())

    def account(self, now: datetime, guard: GuardState | GuardStateError | None = None) -> Account:
        from freqtrade.persistence import Trade

        positions = [self._position(t) for t in Trade.get_trades_proxy(is_open=True)]
        closed = self._closed_trades()
        kept = in_force(guard) if guard is not None else None
        since = kept.streak_since if kept is not None else None
        return Account(
            now=now,
            equity=self.equity(),
            positions=positions,
            closed=closed,
            streak=self._streak(closed, since),
        )

    def _streak(self, closed: list[ClosedTrade], since: datetime | None) -> StreakFold | None:
        """The losing-streak fold over `closed`, extended as trades close (not refolded)."""
        limit = self.config.max_consecutive_losses
        if limit is None:
            return None
        minutes = self.config.loss_streak_cooldown_minutes
        cooldown = timedelta(minutes=minutes) if minutes is not None else None
        fold = self._streak_fold
        if fold is None or (fold.limit, fold.since, fold.cooldown) != (limit, since, cooldown):
            fold, self._streak_folded = StreakFold(limit, since, cooldown), 0
        fold.extend(closed[self._streak_folded :])
        self._streak_fold, self._streak_folded = fold, len(closed)
        return fold

    def _position(self, trade: Any) -> OpenPosition:
        return OpenPosition(
            pair=trade.pair,
            is_short=trade.is_short,
            entry=trade.open_rate,
            amount=trade.amount,
            stop=self._stop_in_force(trade),
            stake=trade.stake_amount,
            opened_at=trade.open_date_utc,
        )

    def _stop_in_force(self, trade: Any) -> float:
        """The engine's stop when the trade's state is in memory, else Freqtrade's stop."""
        stop = self.strategy.stop_in_force(trade)
        return float(trade.stop_loss) if stop is None else stop

    def _closed_trades(self) -> list[ClosedTrade]:
        """Closed trades, oldest first, fetched incrementally (closed trades do not change):
        in backtesting those Freqtrade appended since the last call, else the ones closed
        since shortly before the last seen."""
        from freqtrade.persistence import LocalTrade, Trade

        if not self.persistent:
            if LocalTrade.bt_trades is not self._bt_list:  # Freqtrade started a new run
                self._forget_closed()
                self._bt_list = LocalTrade.bt_trades
            fresh = self._bt_list[self._bt_seen :]
            self._bt_seen = len(self._bt_list)
        elif self._closed_mark is None:
            fresh = Trade.get_trades_proxy(is_open=False)
        else:
            fresh = Trade.get_trades_proxy(is_open=False, close_date=self._closed_mark)
        for trade in fresh:
            known = self._closed.get(trade.id)
            if known is not None and known.closed_at != trade.close_date_utc:
                # a trade id seen with another close: a new backtest run reuses ids
                self._forget_closed()
                return self._closed_trades()
            if known is None:
                self._add_closed(trade.id, self._closed_trade(trade))
        return self._closed_sorted

    def _add_closed(self, trade_id: int, closed: ClosedTrade) -> None:
        self._closed[trade_id] = closed
        ordered = self._closed_sorted
        if ordered and closed.closed_at < ordered[-1].closed_at:
            bisect.insort(ordered, closed, key=lambda t: t.closed_at)
            self._streak_fold = None  # folded out of order: fold again
        else:
            ordered.append(closed)
        self._closed_mark = ordered[-1].closed_at - _CLOSED_MARGIN

    def _forget_closed(self) -> None:
        self._closed, self._closed_sorted, self._closed_mark = {}, [], None
        self._bt_list, self._bt_seen = None, 0
        self._streak_fold, self._streak_folded = None, 0

    def _closed_trade(self, trade: Any) -> ClosedTrade:
        profit = trade.close_profit_abs
        if profit is None or not math.isfinite(profit) or trade.close_date is None:
            raise ValueError(
                f"closed trade {trade.id} ({trade.pair}) has no realized profit or close date"
            )
        return ClosedTrade(
            pair=trade.pair,
            closed_at=trade.close_date_utc,
            profit=float(profit),
            # R feeds Kelly sizing only; looking it up costs a custom-data read per trade
            r=self._r_of(trade, float(profit))
            if self.config.sizing.method is SizingMethod.KELLY
            else None,
        )

    def _r_of(self, trade: Any, profit: float) -> float | None:
        """The closed trade's profit in R, from its initial stop (None: unknown): the
        run's ledger in backtesting, the trade's custom data otherwise."""
        if not self.persistent:
            initial_stop = ledger.initial_stop_of(trade)
            if initial_stop is None:
                return None
        else:
            record = trade.get_custom_data(STATE_KEY)
            if record is None:
                return None
            try:
                memo = TradeMemo.from_record(record, trade_id=trade.id, opened_at=trade.open_date)
            except CorruptTradeState as exc:
                log.warning(
                    "profitguard: R of closed trade %s unknown (left out of Kelly): %s",
                    trade.id,
                    exc,
                )
                return None
            initial_stop = memo.initial_stop
        risk = original_amount(trade) * abs(trade.open_rate - initial_stop)
        return profit / risk if risk > 0 else None

    # ------------------------------------------------------------ the entry

    def stake(
        self,
        pair: str,
        *,
        now: datetime,
        rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        side: str,
    ) -> float:
        """custom_stake_amount: the sized stake, or 0 (no trade) with the reason logged."""
        self._leverage[pair] = leverage
        analyzed = self.strategy.analyzed(pair)
        stop = self._initial_stop(pair, side, rate, now, analyzed)
        sizing = self.config.sizing
        r_history: list[float] = []
        if sizing.method is SizingMethod.KELLY:  # the last kelly_lookback R's, not the history
            known = (t.r for t in reversed(self._closed_trades()) if t.r is not None)
            r_history = list(itertools.islice(known, sizing.kelly_lookback))[::-1]
        atr = None
        if sizing.method is SizingMethod.VOLATILITY:
            atr = _last(analyzed, sizing.atr_column)
        result = size(
            sizing,
            equity=self.equity(),
            rate=rate,
            initial_stop=stop,
            leverage=leverage,
            proposed_stake=proposed_stake,
            min_stake=min_stake,
            max_stake=max_stake,
            max_stake_ratio=self.config.max_stake_ratio,
            r_history=r_history,
            atr=atr,
        )
        if result.refusal is not None:
            self.checked += 1
            self._refused(pair, result.refusal, now)
            return 0.0
        return result.stake

    def confirm(self, pair: str, *, amount: float, rate: float, now: datetime, side: str) -> bool:
        """confirm_trade_entry: every rule in order; False at the first refusal."""
        guard = self.guard()
        account = self.account(now, guard)
        analyzed = self.strategy.analyzed(pair)
        stop = self._initial_stop(pair, side, rate, now, analyzed)
        leverage = self._leverage.pop(pair, 1.0)
        plan = make_plan(
            self.strategy.exits_in_force, side=side, entry=rate, initial_stop=stop, amount=amount
        )
        stake = amount * rate / leverage
        proposal = Proposal(
            pair=pair,
            is_short=side == "short",
            rate=rate,
            amount=amount,
            stake=stake,
            initial_stop=stop,
            first_target=plan.tp_prices[0] if plan.tp_prices else None,
            signal_close=_last(analyzed, "close"),
            confidence=self._confidence(analyzed),
            margin=self._margin_terms(pair, stake, leverage),
        )
        verdict = evaluate(
            self.config,
            guard,
            account,
            proposal,
            lambda: self._correlations(pair, account.positions),
        )
        self.checked += 1
        self._note_state(verdict.state, verdict.checks)
        self.last_entry = (pair, now, verdict.checks)  # as JSON only in the status file
        if verdict.refusal is not None:
            self._refused(pair, verdict.refusal, now)
            return False
        return True

    def _margin_terms(self, pair: str, stake: float, leverage: float) -> MarginTerms | None:
        """Futures: the pair's isolated-margin terms from Freqtrade's leverage tiers (the
        bracket Freqtrade picks for this stake) and its `liquidation_buffer`; spot: None."""
        if self.strategy.config.get("trading_mode") != "futures":
            return None
        exchange = self.strategy.dp._exchange
        rate, amount = exchange.get_maintenance_ratio_and_amt(pair, stake)
        return MarginTerms(
            leverage=leverage,
            maintenance_rate=float(rate),
            maintenance_amount=float(amount or 0.0),
            buffer=float(exchange.liquidation_buffer),
        )

    def failed(self, pair: str, exc: Exception, now: datetime) -> None:
        """The gate itself failed on an entry: counted and sent as a GATE_ERROR refusal."""
        self.checked += 1
        check = Check(Rule.ERROR, False, Figure("error", f"{type(exc).__name__}: {exc}", Unit.TEXT))
        self.refusals[check.rule.value] += 1
        if self.notify:
            self.strategy.dp.send_msg(f"profitguard: entry refused for {pair}: {check.message()}")

    def _initial_stop(
        self, pair: str, side: str, rate: float, now: datetime, analyzed: DataFrame
    ) -> float:
        from profitguard.freqtrade.strategy import _check_initial_stop

        key = (pair, side, rate, now)
        if self._last_stop is not None and self._last_stop[0] == key:
            return self._last_stop[1]  # sizing asked a moment ago, for this very entry
        stop = self.strategy.initial_stop(pair, side, rate, now, dataframe=analyzed)
        _check_initial_stop(stop, rate, side)
        self._last_stop = (key, float(stop))
        return float(stop)

    def _confidence(self, analyzed: DataFrame | None) -> float | None:
        column = self.config.confidence_column
        if analyzed is None or analyzed.empty or column not in analyzed.columns:
            return None  # the strategy supplies none: the rule does not apply
        try:
            return float(analyzed[column].iat[-1])
        except (TypeError, ValueError):
            return math.nan  # supplied but unreadable: refused

    def _correlations(self, pair: str, positions: Any) -> list[rules.Correlation]:
        """Correlation of returns with each open position's pair, over the last
        `correlation_window` candles both analyzed dataframes hold (no lookahead)."""
        window = self.config.correlation_window
        mine = self.strategy.analyzed(pair)
        out = []
        for other in sorted({p.pair for p in positions}):
            theirs = self.strategy.analyzed(other)
            if mine is None or theirs is None or mine.empty or theirs.empty:
                out.append(rules.Correlation(other, 0.0, 0))
                continue
            closes_a, closes_b = shared_closes(mine, theirs, window + 1)
            a, b = rules.returns(closes_a), rules.returns(closes_b)
            out.append(rules.Correlation(other, rules.pearson(a, b), len(a)))
        return out

    # ------------------------------------------------------ telling the user

    def _tell(self, level: int, message: str) -> None:
        log.log(level, message)
        if self.notify:
            self.strategy.dp.send_msg(message)

    def _refused(self, pair: str, check: Check, now: datetime) -> None:
        self.refusals[check.rule.value] += 1
        candle = "" if self.persistent else f" (candle {now:%Y-%m-%d %H:%M} UTC)"
        message = f"profitguard: entry refused for {pair}{candle}: {check.message()}"
        level = logging.INFO
        if self.summary_per_run:
            level = logging.DEBUG
        elif not self.persistent:
            self._logged[check.rule.value] += 1
            shown = self._logged[check.rule.value]
            if shown > BACKTEST_LOG_LIMIT:
                level = logging.DEBUG
            elif shown == BACKTEST_LOG_LIMIT:
                message += f" (further {check.rule.value} refusals are counted, not logged)"
        else:  # live: once per pair, rule and candle at info (Freqtrade asks every loop)
            key = (check.rule, int(now.timestamp() // self._candle.total_seconds()))
            if self._last_logged.get(pair) == key:
                level = logging.DEBUG
            self._last_logged[pair] = key
        log.log(level, message)
        if self.notify:
            self.strategy.dp.send_msg(message)

    def _note_state(self, state: TradingState, checks: Any) -> None:
        if state is self.state:
            return
        reasons = "; ".join(c.message() for c in checks if not c.passed) or "every limit clear"
        previous, self.state = self.state, state
        level = logging.INFO if state is TradingState.ACTIVE else logging.WARNING
        if not self.persistent:
            self._logged["state"] += 1
            if self._logged["state"] > BACKTEST_LOG_LIMIT or self.summary_per_run:
                level = logging.DEBUG
        self._tell(level, f"profitguard: trading state {previous} -> {state}: {reasons}")

    # ------------------------------------------------------ loop and status

    def loop(self, now: datetime) -> None:
        """Once per bot loop: trading state changes, and the status file (dry-run/live)."""
        if not self.persistent:
            return
        guard = self.guard()
        account = self.account(now, guard)
        state, checks = account_state(self.config, guard, account)
        self._note_state(state, checks)
        if time.monotonic() - self._last_status < STATUS_INTERVAL_S:
            return
        self._last_status = time.monotonic()
        assert self.status_path is not None
        write_json_atomic(
            self.status_path,
            {
                "version": 1,
                "updated_at": now.isoformat(),
                "state": state.value,
                "equity": account.equity,
                "checks": [
                    c.as_json()
                    for c in (
                        *checks,
                        *portfolio_checks(self.config, account),
                        *entry_limits(self.config),
                    )
                ],
                "last_entry": self._last_entry_json(),
                "refusals": dict(self.refusals),
                "checked": self.checked,
            },
        )

    def _last_entry_json(self) -> dict[str, Any] | None:
        if self.last_entry is None:
            return None
        pair, when, checks = self.last_entry
        return {"pair": pair, "time": when.isoformat(), "checks": [c.as_json() for c in checks]}

    def summary(self) -> str:
        name = self.strategy.get_strategy_name()
        table = refusal_table(
            self.refusals, self.checked, title=f"profitguard risk gate ({name}, last run)"
        )
        return f"{table}\n{GATE_VS_FREQTRADE}" if self.refusals else table

    def summary_line(self, run: str) -> str:
        """One line: the refusal counts of the run (a hyperopt epoch)."""
        counts = ", ".join(f"{code} {n}" for code, n in sorted(self.refusals.items()) if n)
        name = self.strategy.get_strategy_name()
        return (
            f"profitguard risk gate ({name}, {run}): {self.checked} entries checked, "
            f"{sum(self.refusals.values())} refused" + (f" ({counts})" if counts else "")
        )

    def print_summary(self) -> None:
        """At the end of `freqtrade backtesting`: the refusal counts of the last run."""
        if self.checked:
            print(self.summary(), flush=True)


def _last(dataframe: DataFrame | None, column: str) -> float | None:
    if dataframe is None or dataframe.empty or column not in dataframe.columns:
        return None
    value = dataframe[column].iat[-1]
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def shared_closes(a: Any, b: Any, n: int) -> tuple[list[float], list[float]]:
    """The closes of the last `n` candles both dataframes hold, oldest first.

    Only a bounded tail of each is looked at (twice `n`, so a few gaps in one pair's
    data still leave `n` shared candles): an entry's check stays cheap however long
    the dataframes are."""
    import numpy as np

    # int64 milliseconds of the tails (object arrays of Timestamps are 1000x slower)
    dates_a = a["date"].array[-2 * n :].as_unit("ms").asi8
    dates_b = b["date"].array[-2 * n :].as_unit("ms").asi8
    _, ia, ib = np.intersect1d(dates_a, dates_b, return_indices=True)
    ia, ib = ia[-n:], ib[-n:]
    return (
        a["close"].to_numpy()[-2 * n :][ia].tolist(),
        b["close"].to_numpy()[-2 * n :][ib].tolist(),
    )
