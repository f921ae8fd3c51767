"""`RiskGate`: the risk gate's Freqtrade hooks, put together from its parts (the strategy
passes itself as the `GateHost`):
- `stake` (custom_stake_amount): an entry `screen` refuses is refused before it is
  sized; else `Entry.size`, within the stake cap and Freqtrade's min/max stake;
- `confirm` (confirm_trade_entry): `risk.pipeline.evaluate` on the account (`AccountBook`)
  and the entry, then a shared account's admission; a refusal goes to `RefusalLog`;
- `kill_due` (should_exit): while the kill switch is on, every open trade exits in full
  with Freqtrade's emergency exit (a market order; exit reason `KILL_TAG`);
- `loop` (bot_loop_start): re-reads the guard file, logs changes of trading state,
  writes the status file.
"""

from __future__ import annotations

import atexit
import functools
import logging
from datetime import datetime, timedelta
from typing import Any

from freqtrade.exceptions import OperationalException

from profitguard.account.store import BotNameTaken
from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade.gate.account import AccountBook, ClosedHistory
from profitguard.freqtrade.gate.correlations import Correlations
from profitguard.freqtrade.gate.entry import Entry
from profitguard.freqtrade.gate.host import GateHost
from profitguard.freqtrade.gate.refusals import RefusalLog, log
from profitguard.freqtrade.gate.shared import SharedAccount, bot_state, known_correlations
from profitguard.freqtrade.gate.status import StatusFile, own_files
from profitguard.guard_store import GuardFile
from profitguard.risk.book import Account
from profitguard.risk.checks import Check
from profitguard.risk.config import RiskConfig, SizingMethod
from profitguard.risk.pipeline import (
    Verdict,
    account_state,
    evaluate,
    guard_checks,
    screen,
    state_of,
)
from profitguard.risk.state import GuardState, GuardStateError

# backtesting and hyperopt: every switch off (an immutable value, made once: the exit
# callbacks ask `halted()` on every candle of every trade)
_NO_GUARD = GuardState()


class RiskGate:
    def __init__(
        self,
        host: GateHost,
        config: RiskConfig,
        *,
        persistent: bool,
        notify: bool,
        timeframe_seconds: int,
        summary_at_exit: bool = False,
        summary_per_run: bool = False,
    ) -> None:
        self.host = host
        self.config = config
        self.guard_file: GuardFile | None = None
        self.status: StatusFile | None = None
        if persistent:
            self.guard_file, self.status = own_files(host.config, config)
        # a shared account: its limits on top of the bot's, its switches over the bot's
        self.shared: SharedAccount | None = None
        if persistent and config.account is not None:
            bot = str(host.config.get("bot_name") or "freqtrade")
            self.shared = SharedAccount(config.account, bot=bot, db_url=host.config["db_url"])
            try:
                self.shared.start()
            except BotNameTaken as exc:
                raise OperationalException(f"profitguard: {exc}") from None
        self.history = ClosedHistory(
            persistent=persistent, with_r=config.sizing.method is SizingMethod.KELLY
        )
        self.book = AccountBook(host, config, self.history)
        self.entry = self.costs = Entry(host, config, self.history)  # `costs.ask`: the strategy's
        self.correlations = Correlations(host.analyzed, config.correlation_window)
        self.log = RefusalLog(
            persistent=persistent,
            per_run_summary=summary_per_run,
            candle=timedelta(seconds=timeframe_seconds),
            send=(lambda message: host.dp.send_msg(message)) if notify else None,
        )
        self.start_run()
        if summary_at_exit:
            atexit.register(self.print_summary)

    def start_run(self) -> None:
        """A new backtest run or hyperopt epoch (the strategy tells): start afresh."""
        if self.log.per_run_summary and self.log.checked:
            log.info(self.log.summary_line(self.host.get_strategy_name(), "epoch"))
        self.log.start_run()
        self.history.forget()
        self.book.forget()
        self.correlations.forget()
        self.last_entry: tuple[str, datetime, tuple[Check, ...]] | None = None
        self._screen: tuple[tuple, Account, Verdict] | None = None
        self._leverage: dict[str, float] = {}
        self._kill_logged: set[int] = set()

    refusals = property(lambda self: self.log.refusals)  # the run's counts
    checked = property(lambda self: self.log.checked)
    state = property(lambda self: self.log.state)

    def guard(self) -> GuardState | GuardStateError:
        """The admin's switches (re-read when the file changed), or why they cannot be read."""
        if self.guard_file is None:
            return _NO_GUARD
        try:
            return self.guard_file.read()
        except GuardStateError as exc:
            return exc

    def halted(self) -> bool:
        """The kill switch is on (or was, when last read, and the file is now broken);
        the shared account's too."""
        if self.shared is not None and self.shared.halted():
            return True
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
            self.log.tell(
                logging.WARNING,
                f"profitguard: kill switch on: exiting {trade.pair} (trade {trade.id}) in full "
                "with a market order",
            )
        return True

    def stake(self, pair: str, *, now: datetime, leverage: float, **ask: Any) -> float:
        """custom_stake_amount (`ask`: rate, proposed_stake, min_stake, max_stake, side): the
        sized stake, or 0 (no trade) with the reason logged."""
        account, verdict = self._screened(now, self.guard())
        if verdict.refusal is not None:
            self._checked(pair, now, verdict)
            return 0.0
        self._leverage[pair] = leverage
        result = self.entry.size(pair, now, account.equity, leverage=leverage, **ask)
        if result.refusal is not None:
            self.log.checked += 1
            self.log.refused(pair, result.refusal, now)
            return 0.0
        return result.stake

    def confirm(self, pair: str, *, amount: float, rate: float, now: datetime, side: str) -> bool:
        """confirm_trade_entry: every rule in order; False at the first refusal."""
        guard = self.guard()
        account, screened = self._screened(now, guard)
        leverage = self._leverage.pop(pair, 1.0)
        proposal = functools.cache(
            lambda: self.entry.proposal(
                pair, amount=amount, rate=rate, now=now, side=side, leverage=leverage
            )
        )
        verdict = evaluate(
            self.config,
            guard,
            account,
            proposal,
            lambda: self.correlations.of(pair, (p.pair for p in account.positions)),
            screened=screened,
        )
        if not self._checked(pair, now, verdict) or self.shared is None:
            return verdict.allowed
        shared = self.shared.admit(
            self.config.account.limits,
            own_equity=account.equity,
            now=now,
            proposal=proposal(),
            correlations=known_correlations(self.correlations, self.host.analyzed),
        )
        if shared.refusal is not None:
            self.last_entry = (pair, now, shared.checks)
            self.log.refused(pair, shared.refusal, now)
            return False
        return True

    def _screened(
        self, now: datetime, guard: GuardState | GuardStateError
    ) -> tuple[Account, Verdict]:
        """The account as of `now` and `screen`'s verdict on it: made again only when the
        account or the guard changed (the entry signals of one candle share it)."""
        account = self.book.at(now, guard)
        key = (now, guard, account.equity, self.history.version, account.positions)
        kept = self._screen
        if kept is not None and kept[0] == key:
            return kept[1], kept[2]
        verdict = screen(self.config, guard, account)
        self._screen = (key, account, verdict)
        return account, verdict

    def _checked(self, pair: str, now: datetime, verdict: Verdict) -> bool:
        """Count the gate's verdict on an entry; log and send a refusal, or a change of state."""
        self.log.checked += 1
        self.log.note_state(verdict.state, verdict.checks, now)
        self.last_entry = (pair, now, verdict.checks)  # as JSON only in the status file
        if verdict.refusal is not None:
            self.log.refused(pair, verdict.refusal, now)
            return False
        return True

    def failed(self, pair: str, exc: Exception, now: datetime) -> None:
        self.log.failed(pair, exc, now)  # the gate itself failed: a GATE_ERROR refusal

    def loop(self, now: datetime, published: dict[str, Any] | None = None) -> None:
        """Once per bot loop: trading state changes, and the status file (dry-run/live)
        with `published` (the open trades' figures and the events, `monitor`) in it;
        the shared account's heartbeat, this bot's positions and closed trades."""
        if self.status is None:
            return
        if self.shared is not None:
            self.shared.loop(**bot_state(self.book))
        guard = self.guard()
        account = self.book.at(now, guard)
        state, checks = account_state(self.config, guard, account)
        if self.shared is not None:  # the account's switches hold for this bot too
            checks += guard_checks(self.shared.guard())
            state = state_of(checks)
        self.log.note_state(state, checks, now)
        if not self.status.due():
            return
        self.status.write(now, state, checks, account, self.last_entry, self.log, published)

    def trade_changed(self) -> None:
        """A fill (order_filled): a shared account gets this bot's positions and closed
        trades now, not at the next loop (its reservation becomes the position)."""
        if self.shared is not None:
            self.shared.loop(**bot_state(self.book))

    def summary(self) -> str:
        return self.log.summary(self.host.get_strategy_name())

    def print_summary(self) -> None:
        """At the end of `freqtrade backtesting`: the refusal counts of the last run."""
        if self.log.checked:
            print(self.summary(), flush=True)
            warning = self.log.warning()
            if warning is not None:
                print(warning, flush=True)
