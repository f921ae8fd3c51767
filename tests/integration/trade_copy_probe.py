"""Run Freqtrade in this process, watching profitguard's hooks with the trade they get.

`python tests/integration/trade_copy_probe.py OUT.json <freqtrade args...>` runs
Freqtrade as `python -m freqtrade` would. Around every call Freqtrade makes, through
its `strategy_safe_wrapper`, of a hook `ProfitGuardStrategy` defines with a `trade`,
it snapshots the trade Freqtrade holds (every attribute, its orders' too, and its
custom data) before and after, and counts the copies Freqtrade made of it for that
call. OUT.json: calls and copies per hook, and the first differences found.

`PROFITGUARD_TEST_TRADE_COPY=fast`: as with `"profitguard": {"fast_backtest": true}`
(profitguard's skip of the copy installed); `default` (the default): default settings,
every hook gets Freqtrade's copy.

Test-only: run as a script, the probe wraps Freqtrade's wrapper where Freqtrade's modules bound it,
and counts below profitguard's skip (installed over the counting copy), so the skip
sees exactly the caller it sees in a plain run.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from typing import Any

from freqtrade import freqtradebot  # noqa: F401 (binds the wrapper: probed below)
from freqtrade.optimize import backtesting  # noqa: F401
from freqtrade.strategy import interface, strategy_wrapper

from profitguard.freqtrade import ProfitGuardStrategy, trade_copy

HOOKS = vars(ProfitGuardStrategy)[trade_copy.TRADE_HOOKS_ATTRIBUTE]
calls: dict[str, int] = {}
copies: dict[str, int] = {}
mutations: list[dict] = []
_current: list[str] = []  # the profitguard hook being called, if any


def snapshot(value: Any, _path: frozenset = frozenset()) -> Any:
    """A comparable picture of `value` and everything it holds (objects by their
    attributes, a reference back up the path as a marker)."""
    if id(value) in _path:
        return ("<cycle>", type(value).__name__)
    if isinstance(value, (str, int, float, bool, type(None))):
        return repr(value)
    path = _path | {id(value)}
    if isinstance(value, dict):
        return tuple(sorted((repr(k), snapshot(v, path)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [snapshot(v, path) for v in value]
        return (type(value).__name__, tuple(sorted(items) if isinstance(value, set) else items))
    attributes = getattr(value, "__dict__", None)
    if attributes is None:
        return repr(value)
    return (
        type(value).__name__,
        tuple(sorted((k, snapshot(v, path)) for k, v in attributes.items())),
    )


def trade_snapshot(trade: Any) -> Any:
    custom = [(c.cd_key, c.cd_type, c.cd_value) for c in trade.get_all_custom_data()]
    return (snapshot(trade), tuple(custom))


def differences(before: Any, after: Any, where: str = "trade") -> list[str]:
    """Where two snapshots differ (paths), for the report."""
    if before == after:
        return []
    if (
        isinstance(before, tuple)
        and isinstance(after, tuple)
        and len(before) == len(after)
        and len(before) < 500
    ):
        found = []
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            label = b[0] if isinstance(b, tuple) and b and isinstance(b[0], str) else i
            found += differences(b, a, f"{where}.{label}")
        return found or [where]
    return [f"{where}: {before!r} -> {after!r}"[:300]]


def _profitguard_hook(f: Any) -> str | None:
    func = getattr(f, "__func__", None)
    name = getattr(func, "__name__", None)
    return name if name in HOOKS and vars(ProfitGuardStrategy).get(name) is func else None


_safe_wrapper = strategy_wrapper.strategy_safe_wrapper


def probed_safe_wrapper(f, *args, **kwargs):
    inner = _safe_wrapper(f, *args, **kwargs)
    hook = _profitguard_hook(f)
    if hook is None:
        return inner

    def call(*call_args, **call_kwargs):
        trade = call_kwargs.get("trade")
        if trade is None:
            return inner(*call_args, **call_kwargs)
        before = trade_snapshot(trade)
        _current.append(hook)
        try:
            return inner(*call_args, **call_kwargs)
        finally:
            _current.pop()
            calls[hook] = calls.get(hook, 0) + 1
            after = trade_snapshot(trade)
            if after != before and len(mutations) < 20:
                mutations.append({"hook": hook, "where": differences(before, after)[:10]})

    return call


def counting_copy(x, *args, **kwargs):
    if _current:
        copies[_current[-1]] = copies.get(_current[-1], 0) + 1
    return _deepcopy(x, *args, **kwargs)


_deepcopy = strategy_wrapper.deepcopy


def install_probe(mode: str) -> None:
    """Wrap Freqtrade's wrapper where its modules bound it; count copies under the
    place profitguard's skip installs; `fast`: with `fast_backtest` on, `default`: off."""
    for module in list(sys.modules.values()):
        bound = getattr(module, "strategy_safe_wrapper", None)
        if bound is _safe_wrapper and module is not strategy_wrapper:
            module.strategy_safe_wrapper = probed_safe_wrapper
    assert interface.strategy_safe_wrapper is probed_safe_wrapper
    strategy_wrapper.deepcopy = counting_copy
    if mode == "fast":  # as with `"profitguard": {"fast_backtest": true}` in the config
        import dataclasses

        from profitguard.freqtrade import settings, startup

        load = settings.load_settings
        startup.load_settings = lambda section, config: dataclasses.replace(
            load(section, config), fast_backtest=True
        )
    elif mode != "default":
        raise SystemExit(f"PROFITGUARD_TEST_TRADE_COPY must be 'fast' or 'default', was {mode!r}")


if __name__ == "__main__":
    mode = os.environ.get("PROFITGUARD_TEST_TRADE_COPY", "default")
    install_probe(mode)
    out, args = sys.argv[1], sys.argv[2:]
    sys.argv = ["freqtrade", *args]
    code = 0
    try:
        runpy.run_module("freqtrade", run_name="__main__")
    except SystemExit as exc:
        code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    finally:
        with open(out, "w") as fh:
            json.dump(
                {
                    "exit": code,
                    "mode": mode,
                    "skip_installed": trade_copy.installed(),
                    "calls": calls,
                    "copies": copies,
                    "mutations": mutations,
                },
                fh,
            )
    sys.exit(code)
