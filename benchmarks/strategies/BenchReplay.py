"""Benchmark floor, like for like: the sample's entries, every hook answering what the sample did.

`BenchRecorder` (a `ProfitGuardSample` that records its hooks' answers) writes
`bench_answers.pickle` into the user data directory; this strategy loads it and
answers each hook Freqtrade calls from that dict, keyed by (hook, pair, candle
time), with one O(1) lookup. Its flags are the sample's, so Freqtrade calls the
same hooks as often (and deep-copies the trade for each, as for the sample): the
trades are the sample's, and the loop's cost is Freqtrade's own plus a lookup per
call. What the sample costs over this floor is what profitguard costs.

When a hook is called more than once for one pair and candle (the stop after an
entry fill, then again after a partial exit), the answers are given back in the
order they were recorded. At exit it writes `bench_replay.json`: how many calls
were answered, how many answers were recorded and which calls found none (the
benchmark refuses a run with any, and compares the trade lists).
"""

from __future__ import annotations

import atexit
import json
import pickle
from pathlib import Path
from typing import ClassVar

from freqtrade.strategy import IStrategy
from ProfitGuardSample import ProfitGuardSample

ANSWERS_FILE = "bench_answers.pickle"
REPORT_FILE = "bench_replay.json"


class _InOrder:
    """Several answers for one (hook, pair, candle), handed out in recorded order."""

    __slots__ = ("answers", "taken")

    def __init__(self, answers: list) -> None:
        self.answers = answers
        self.taken = 0

    def take(self):
        answer = self.answers[self.taken]
        self.taken += 1
        return answer


_MISSING = object()


class BenchReplay(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = ProfitGuardSample.timeframe
    can_short = ProfitGuardSample.can_short
    startup_candle_count = ProfitGuardSample.startup_candle_count
    process_only_new_candles = ProfitGuardSample.process_only_new_candles
    use_exit_signal = ProfitGuardSample.use_exit_signal
    use_custom_stoploss = ProfitGuardSample.use_custom_stoploss
    position_adjustment_enable = ProfitGuardSample.position_adjustment_enable
    max_entry_position_adjustment = ProfitGuardSample.max_entry_position_adjustment
    stoploss = ProfitGuardSample.stoploss
    minimal_roi: ClassVar[dict] = dict(ProfitGuardSample.minimal_roi)
    trailing_stop = ProfitGuardSample.trailing_stop

    populate_indicators = ProfitGuardSample.populate_indicators
    populate_entry_trend = ProfitGuardSample.populate_entry_trend
    populate_exit_trend = ProfitGuardSample.populate_exit_trend

    def bot_start(self, **kwargs) -> None:
        userdir = Path(self.config["user_data_dir"])
        with (userdir / ANSWERS_FILE).open("rb") as fh:
            recorded: dict[tuple, list] = pickle.load(fh)
        self._recorded = sum(len(v) for v in recorded.values())
        self._answers = {k: v[0] if len(v) == 1 else _InOrder(v) for k, v in recorded.items()}
        self._answered = 0
        self._misses: list[str] = []
        atexit.register(self._write_report, userdir / REPORT_FILE)

    def _answer(self, hook: str, pair: str, now):
        answer = self._answers.get((hook, pair, now), _MISSING)
        if answer.__class__ is _InOrder:
            answer = answer.take() if answer.taken < len(answer.answers) else _MISSING
        if answer is _MISSING:
            self._misses.append(f"{hook} {pair} {now}")
            return None
        self._answered += 1
        return answer

    def _write_report(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "answered": self._answered,
                    "recorded": self._recorded,
                    "misses": len(self._misses),
                    "first_misses": self._misses[:10],
                }
            )
        )

    def custom_stoploss(self, pair, trade, current_time, current_rate, current_profit,
                        after_fill, **kwargs):  # fmt: skip
        return self._answer("custom_stoploss", pair, current_time)

    def adjust_trade_position(self, trade, current_time, current_rate, current_profit,
                              min_stake, max_stake, current_entry_rate, current_exit_rate,
                              current_entry_profit, current_exit_profit, **kwargs):  # fmt: skip
        return self._answer("adjust_trade_position", trade.pair, current_time)

    def order_filled(self, pair, trade, order, current_time, **kwargs):
        return self._answer("order_filled", pair, current_time)

    def confirm_trade_entry(self, pair, order_type, amount, rate, time_in_force, current_time,
                            entry_tag, side, **kwargs):  # fmt: skip
        return self._answer("confirm_trade_entry", pair, current_time)

    def custom_stake_amount(self, pair, current_time, current_rate, proposed_stake, min_stake,
                            max_stake, leverage, entry_tag, side, **kwargs):  # fmt: skip
        return self._answer("custom_stake_amount", pair, current_time)

    def custom_exit(self, pair, trade, current_time, current_rate, current_profit, **kwargs):
        return self._answer("custom_exit", pair, current_time)

    def check_entry_timeout(self, pair, trade, order, current_time, **kwargs):
        return self._answer("check_entry_timeout", pair, current_time)

    def bot_loop_start(self, current_time, **kwargs):
        return None
