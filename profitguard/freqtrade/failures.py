"""Fail closed inside Freqtrade's callbacks, written once.

Freqtrade treats an exception in `confirm_trade_entry` as "confirmed", in
`custom_stake_amount` as "use the proposed stake", and logs and carries on for the
rest. So every profitguard hook catches its own errors: `fail_closed` names the
hook's safe default (refuse the entry, stake 0, leave the stop where it is, place no
order), and `FailureLog` reports each failure once per trade (or pair), hook and cause,
logged and, in dry-run and live, sent. A failing report never turns the safe default
into something else.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("profitguard.freqtrade.strategy")

# what a failure of a hook leaves behind, for its message (default: no order placed)
OUTCOMES = {
    "custom_stoploss": "the stop is left where it is",
    "chandelier trailing": "the other stops still apply",
    "client order id": "the order is placed with ccxt's client id",
    "pg_custom_stoploss": "profitguard's stop alone",  # a strategy's own part (`overrides`)
    "pg_confirm_trade_exit": "the exit goes ahead",
}

Arguments = dict[str, Any]


class FailureLog:
    """Each failure logged (and sent) once per trade (or pair), hook and cause.

    The key holds no message text, so a message with a changing figure is one key;
    a trade's keys are forgotten when it closes (`forget`), all of them at a new
    backtest run, where trade ids start again (`clear`)."""

    def __init__(self, send: Callable[[str], None] | None) -> None:
        self.send = send  # None: logged only (backtesting, or notifications off)
        self.keys: set[tuple] = set()
        self.count = 0  # every failure, reported or not (the dashboard's metric)

    def report(self, hook: str, trade: Any, exc: Exception, **inputs: Any) -> None:
        self.count += 1
        trade_id = getattr(trade, "id", None)
        key = (trade_id if trade is not None else inputs.get("pair"), hook, type(exc))
        if key in self.keys:
            return
        self.keys.add(key)
        described = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
        outcome = OUTCOMES.get(hook, "no order placed")
        log.error(
            "profitguard %s failed for trade %s (%s): %s: %s [%s]; %s",
            hook,
            trade_id,
            getattr(trade, "pair", None),
            type(exc).__name__,
            exc,
            described,
            outcome,
            exc_info=exc,
        )
        if self.send is not None:
            try:
                self.send(
                    f"profitguard {hook} failed for trade {trade_id} "
                    f"({getattr(trade, 'pair', inputs.get('pair'))}): {type(exc).__name__}: "
                    f"{exc}; {outcome}"
                )
            except Exception:  # a failing message must not hide the failure
                log.exception("profitguard: sending the failure of %s failed", hook)

    def forget(self, trade_id: int) -> None:
        self.keys = {k for k in self.keys if k[0] != trade_id}

    def clear(self) -> None:
        self.keys.clear()


def fail_closed(
    default: Any = None,
    *,
    hook: str | None = None,
    inputs: Callable[[Arguments], dict[str, Any]] = lambda args: {},
    entry: bool = False,
) -> Callable:
    """Decorate a strategy method so an error returns `default` (a value, or a
    function of the call's arguments by name) after `strategy._pg_report_failure`
    reported it under `hook` (the method's name by default) with `inputs(arguments)`.

    `entry`: an entry hook (the risk gate, sizing): the failure is also counted as
    the gate's refusal of the pair. As Freqtrade's `strategy_safe_wrapper`, but the
    default belongs to the hook, not to each call site."""

    def decorate(method: Callable) -> Callable:
        name = hook or method.__name__
        signature = inspect.signature(method)

        @functools.wraps(method)
        def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                try:
                    arguments = dict(signature.bind(self, *args, **kwargs).arguments)
                except TypeError:  # called with arguments it cannot take (an override's)
                    arguments = {"args": args, **kwargs}
                try:
                    self._pg_report_failure(name, exc, arguments, inputs(arguments), entry=entry)
                except Exception:  # a failing report must not change what the hook returns
                    subject = arguments.get("pair") or getattr(arguments.get("trade"), "pair", "")
                    outcome = "entry refused" if entry else OUTCOMES.get(name, "no order placed")
                    log.critical("profitguard %s failed for %s; %s", name, subject, outcome,
                                 exc_info=True)  # fmt: skip
                return default(arguments) if callable(default) else default

        # Freqtrade reads a hook's parameters with `getfullargspec`, which ignores
        # `__wrapped__` but not `__signature__` (custom_stoploss gets `after_fill`
        # calls only if it names the argument)
        guarded.__signature__ = signature  # type: ignore[attr-defined]
        return guarded

    return decorate
