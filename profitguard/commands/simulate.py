"""`profitguard simulate`: a ladder calculator that shows exactly what a ladder does.

With `--prices`, each price is one tick processed by the engine in its order (stop
hit, peak, take-profits, new stop); fills happen at the tick's own price (a gap
fills at the gap price). With `--candles`, OHLC candles are replayed the way
Freqtrade's backtester shows them to the strategy, and each exit fills where a
backtest fills it (`engine.replay_candles`, the model `report --check` holds
against real backtests: the stop held at `--tick`, the pessimistic fill of a stop
raised and hit on the entry candle, the first candle replayed). The same `step`
function runs inside the Freqtrade strategy, so what this prints is what the bot
does.

With `--params`, the take-profits, stop ladder and trailing distance come from a
Freqtrade strategy params file (`<Strategy>.json`, written by `freqtrade
hyperopt` next to the strategy): the ladder hyperopt chose, exactly as the
strategy builds it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from profitguard import userfiles
from profitguard.commands.usage import UsageError, parse_utc
from profitguard.engine import (
    Candle,
    ConfigError,
    Decision,
    LevelUnit,
    Position,
    PositionError,
    ProtectionConfig,
    open_position,
    replay,
    replay_candles,
)
from profitguard.engine.ladder_space import ladder_from_params, replaced_settings, tp_unit_of

# engine field -> the flag that sets it, so an error names what the user typed
_FLAG_OF_FIELD = {
    "side": "--side",
    "entry": "--entry",
    "initial_stop": "--stop",
    "amount": "--amount",
    "amount_step": "--amount-step",
    "min_amount": "--min-amount",
    "price": "--prices",
    "preset": "--preset",
    "take_profits": "--tp",
    "tp_unit": "--tp-unit",
    "stop_ladder": "--stop-ladder",
    "tp_stop": "--tp-stop",
    "trail_pct": "--trail-pct",
    "trail_activation_pct": "--trail-activation-pct",
    "trail_atr_multiple": "--trail-atr-mult",
    "profitguard": "--params",  # hyperopt parameters: "profitguard.pg_tp1_r"
}

# the settings a params file replaces -> the flag that would set them too
_FLAG_OF_SETTING = {
    "take_profits": "--tp",
    "stop_ladder": "--stop-ladder",
    "trail_pct": "--trail-pct",
}


def _flag(field: str) -> str:
    head = field.split("[", 1)[0].split(".", 1)[0]
    return _FLAG_OF_FIELD.get(head, field)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _numbers(text: str) -> list[float]:
    return [_number(part.strip()) for part in text.split(",") if part.strip()] or _empty(text)


def _empty(text: str) -> list[float]:
    raise argparse.ArgumentTypeError(f"{text!r} holds no prices")


def _pairs(text: str) -> list[list[float]] | str:
    if text.strip().lower() == "none":
        return "none"
    pairs = []
    for part in text.split(","):
        left, sep, right = part.partition(":")
        if not sep:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not A:B")
        pairs.append([_number(left.strip()), _number(right.strip())])
    return pairs


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="show what a ladder does to a price path",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--side", choices=["long", "short"], required=True)
    p.add_argument("--entry", type=_number, required=True, help="entry price")
    p.add_argument("--stop", type=_number, required=True, help="initial stop price (defines 1R)")
    p.add_argument("--amount", type=_number, required=True, help="position size (base currency)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--prices", type=_numbers, help="comma-separated ticks")
    source.add_argument(
        "--candles",
        type=Path,
        help="Freqtrade OHLCV file (.json, .feather, .parquet), replayed as the backtester does",
    )
    p.add_argument(
        "--from",
        dest="start",
        help="with --candles: the entry candle, the first replayed (ISO time or ms)",
    )
    p.add_argument(
        "--tick",
        type=_number,
        help="with --candles: the price tick a backtest rounds exits and the stop to "
        "(default: the one Freqtrade reads from the file's decimals)",
    )
    p.add_argument(
        "--preset",
        help="r_ladder (default; scaled_pct with --params in pct), scaled_pct, none",
    )
    p.add_argument(
        "--params",
        type=Path,
        help="a strategy params file written by freqtrade hyperopt (<Strategy>.json): "
        "the ladder from its 'profitguard' parameters",
    )
    p.add_argument("--tp", type=_pairs, help="take-profit levels LEVEL:FRACTION,… (or none)")
    p.add_argument("--tp-unit", help="unit of --tp levels: r or pct (pct as a ratio: 0.03 = +3%%)")
    p.add_argument("--stop-ladder", type=_pairs, help="TRIGGER_R:LOCK_R,… or none")
    p.add_argument("--tp-stop", help="stop after a take-profit: ladder or previous_level")
    p.add_argument("--trail-pct", type=_number, help="trailing distance, ratio (0.03 = 3%%)")
    p.add_argument("--trail-activation-pct", type=_number, help="profit ratio that arms trailing")
    p.add_argument("--trail-atr-mult", type=_number, help="chandelier trailing: ATR multiple")
    p.add_argument(
        "--atr",
        type=_number,
        help="ATR for --trail-atr-mult (price units), for every price or candle",
    )
    p.add_argument("--amount-step", type=_number, help="exchange amount step")
    p.add_argument("--min-amount", type=_number, default=0.0, help="exchange minimum amount")
    p.add_argument(
        "--min-notional", type=_number, default=0.0, help="exchange minimum order value (quote)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def load_params(path: Path) -> tuple[str, dict[str, Any]]:
    """(strategy name, values of the `profitguard` space) of the --params file."""
    try:
        return userfiles.load_params(path)
    except ValueError as exc:
        raise UsageError(f"argument --params: {exc}") from None


def config_from_args(args: argparse.Namespace) -> ProtectionConfig:
    values = None
    if args.params is not None:
        _, values = load_params(args.params)
        for setting in replaced_settings(values):
            flag = _FLAG_OF_SETTING[setting]
            if getattr(args, flag[2:].replace("-", "_")) is not None:
                raise UsageError(
                    f"argument {flag}: not allowed with --params, whose {setting} it replaces"
                )
    preset = args.preset
    if preset is None:
        preset = "scaled_pct" if values and tp_unit_of(values) == LevelUnit.PCT else "r_ladder"
    raw: dict[str, Any] = {"preset": preset}
    for key, value in (
        ("take_profits", args.tp),
        ("tp_unit", args.tp_unit),
        ("stop_ladder", args.stop_ladder),
        ("tp_stop", args.tp_stop),
        ("trail_pct", args.trail_pct),
        ("trail_activation_pct", args.trail_activation_pct),
        ("trail_atr_multiple", args.trail_atr_mult),
    ):
        if value is not None:
            raw[key] = value
    config = ProtectionConfig.from_mapping(raw)
    return config if values is None else ladder_from_params(config, values)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="warning: %(message)s", stream=sys.stderr)
    if args.atr is not None and args.trail_atr_mult is None:
        raise UsageError("argument --atr: needs --trail-atr-mult")
    if args.trail_atr_mult is not None and args.atr is None:
        raise UsageError("argument --trail-atr-mult: needs --atr (the ATR, in price units)")
    if args.atr is not None and not (math.isfinite(args.atr) and args.atr > 0):
        raise UsageError(f"argument --atr: must be a finite number > 0, was {args.atr!r}")
    try:
        config = config_from_args(args)
        position = open_position(
            config,
            side=args.side,
            entry=args.entry,
            initial_stop=args.stop,
            amount=args.amount,
            amount_step=args.amount_step,
            min_amount=args.min_amount,
        )
        if args.min_notional < 0:
            raise UsageError(f"argument --min-notional: must be >= 0, was {args.min_notional!r}")
        fills = None
        if args.candles is not None:
            if args.tick is not None and not (math.isfinite(args.tick) and args.tick > 0):
                raise UsageError(f"argument --tick: must be a finite number > 0, was {args.tick!r}")
            candles = load_candles(args.candles, args.start)
            warn_entry_outside(args.entry, candles)
            tick = args.tick if args.tick is not None else backtest_tick(args.candles, candles[0])
            ticks = replay_candles(
                position, candles, atr=args.atr, min_notional=args.min_notional, tick=tick
            )
            decisions = [t.decision for t in ticks]
            kinds = [t.kind for t in ticks]
            fills = [t.fill for t in ticks]
            total = len(candles)
        else:
            for flag, value in (("--from", args.start), ("--tick", args.tick)):
                if value is not None:
                    raise UsageError(f"argument {flag}: needs --candles")
            decisions = replay(
                position,
                args.prices,
                atrs=[args.atr] * len(args.prices),
                min_notional=args.min_notional,
            )
            kinds = None
            total = len(args.prices)
    except (ConfigError, PositionError) as exc:
        raise UsageError(f"argument {_flag(exc.field)}: {exc}") from None

    if args.json:
        print(json.dumps(lifecycle(position, decisions, kinds, fills)), flush=True)
    else:
        if args.params is not None:
            name, _ = load_params(args.params)
            print(f"hyperopt parameters of {name} from {args.params}")
        print(render_table(position, decisions, kinds, fills))
        if decisions and decisions[-1].position.state.is_closed and kinds is None:
            ignored = total - len(decisions)
            if ignored:
                print(f"(position closed; {ignored} later price(s) not processed)")
        print(total_line(position, decisions, fills))
    return 0


def backtest_tick(path: Path, first: Candle) -> float | None:
    """The tick a backtest on `path` rounds exits to at the `first` candle: Freqtrade's
    reading of the whole file's decimals (`report.ticks`)."""
    from profitguard.report.ticks import BacktestTicks, frame_of

    return BacktestTicks(frame_of(load_candles(path, None)), str(path)).at(first.at)


def warn_entry_outside(entry: float, candles: list[Candle]) -> None:
    """An entry no replayed candle reaches is most likely a typo (or the wrong file)."""
    low = min(c.low for c in candles)
    high = max(c.high for c in candles)
    if not low <= entry <= high:
        print(
            f"warning: --entry {entry:g} is outside every replayed candle (lows and highs "
            f"{low:g} .. {high:g}, from {candles[0].at:%Y-%m-%d %H:%M} UTC): check --entry, "
            "--candles and --from",
            file=sys.stderr,
            flush=True,
        )


def realized_profit(
    opened: Position, decisions: list[Decision], fills: list[float | None] | None = None
) -> float:
    """Realized profit (quote currency, before fees): at the decisions' prices, or at
    the `fills` a backtest gives the exits (with --candles)."""
    if fills is None:
        return (decisions[-1].position if decisions else opened).realized_profit
    plan = opened.plan
    return math.fsum(
        d.exit_amount * plan.sign * (fill - plan.entry)
        for d, fill in zip(decisions, fills, strict=True)
        if d.exit_amount and fill is not None
    )


def realized_r(
    opened: Position, decisions: list[Decision], fills: list[float | None] | None = None
) -> float:
    """Realized profit in R: over the money one R of the whole amount risks."""
    at_risk = opened.plan.risk * opened.plan.amount
    return realized_profit(opened, decisions, fills) / at_risk if at_risk > 0 else 0.0


def total_line(
    opened: Position, decisions: list[Decision], fills: list[float | None] | None = None
) -> str:
    last = decisions[-1].position if decisions else opened
    left = "closed" if last.state.is_closed else f"{_num(last.remaining):g} still open"
    return (
        f"total: {realized_r(opened, decisions, fills):+.2f}R realized (profit "
        f"{_num(realized_profit(opened, decisions, fills)):g}, 1R of the whole amount = "
        f"{_num(opened.plan.risk * opened.plan.amount):g}); {left}"
    )


def skipped_levels(
    opened: Position, decisions: list[Decision], kinds: list[str] | None = None
) -> list[list[str]]:
    """Per decision, the take-profit levels it passed without an order: reached at a
    price that may take profit, but worth less than the exchange minimum (their
    fraction is carried to the next level's order). Each level is named once."""
    from profitguard.engine import levels_reached

    out = []
    named = opened.levels_taken
    for i, d in enumerate(decisions):
        may_exit = kinds is None or kinds[i] == "open"
        reached = levels_reached(d.position)
        skipped: list[str] = []
        if may_exit and not d.exit_amount and reached > max(named, d.position.levels_taken):
            start = max(named, d.position.levels_taken)
            skipped = [f"tp{k}" for k in range(start + 1, reached + 1)]
            named = reached
        out.append(skipped)
    return out


def _time(text: str) -> int:
    """ms since the epoch, from digits (ms) or an ISO time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        return int(parse_utc(text).timestamp() * 1000)
    except ValueError:
        raise ValueError(f"{text!r} is neither an ISO time nor milliseconds") from None


def load_candles(path: Path, start: str | None) -> list[Candle]:
    """Candles of the --candles file, from `start` (ms or ISO) on."""
    try:
        since = _time(start) if start is not None else None
    except ValueError as exc:
        raise UsageError(f"argument --from: {exc}") from None
    try:
        candles = userfiles.load_candles(path, since)
    except ValueError as exc:
        raise UsageError(f"argument --candles: {exc}") from None
    if not candles:
        raise UsageError(f"argument --candles: no candles in {str(path)!r} from {start!r}")
    return candles


def _num(value: float) -> float:
    """Strip float residue for display: 0.060000000000000005 -> 0.06."""
    return float(f"{value:.12g}")


def event(
    decision: Decision,
    kind: str | None = None,
    skipped: list[str] | None = None,
    fill: float | None = None,
) -> dict[str, Any]:
    p = decision.position
    extra: dict[str, Any] = {}
    if kind is not None:
        extra = {
            "time": decision.at.isoformat() if decision.at else None,
            "tick": kind,
            "fill_price": fill,  # where a backtest fills this exit (None: no exit)
        }
    return {
        **extra,
        "price": decision.price,
        "r": _num(decision.r),
        "peak_r": _num(p.peak_r),
        "state": str(p.state),
        "stop": _num(p.stop),
        "exit_amount": _num(decision.exit_amount),
        "exit_tags": list(decision.exit_tags),
        "skipped_tags": skipped or [],
        "remaining": _num(p.remaining),
        "realized_profit": _num(p.realized_profit),
    }


def lifecycle(
    opened: Position,
    decisions: list[Decision],
    kinds: list[str] | None = None,
    fills: list[float | None] | None = None,
) -> dict[str, Any]:
    last = decisions[-1].position if decisions else opened
    kinds_or_none = kinds if kinds is not None else [None] * len(decisions)
    fills_or_none = fills if fills is not None else [None] * len(decisions)
    skipped = skipped_levels(opened, decisions, kinds)
    return {
        "events": [
            event(d, k, s, f)
            for d, k, s, f in zip(decisions, kinds_or_none, skipped, fills_or_none, strict=True)
        ],
        "final": {
            "state": str(last.state),
            "remaining": _num(last.remaining),
            "realized_profit": _num(realized_profit(opened, decisions, fills)),
            "realized_r": _num(realized_r(opened, decisions, fills)),
        },
    }


def describe_plan(position: Position) -> list[str]:
    plan = position.plan
    lines = [
        f"{plan.side} {plan.amount:g} at {plan.entry:g}, initial stop {plan.initial_stop:g} "
        f"(1R = {_num(plan.risk):g})"
    ]
    for i, (lv, price) in enumerate(zip(plan.config.take_profits, plan.tp_prices, strict=True)):
        lines.append(
            f"  tp{i + 1}: {lv.fraction:.4g} of the amount at {_num(price):g} "
            f"({_num(plan.r(price)):g}R)"
        )
    for st in plan.config.stop_ladder:
        lines.append(
            f"  stop ladder: peak {st.trigger_r:g}R -> stop {st.lock_r:g}R "
            f"({_num(plan.price_at_r(st.lock_r)):g})"
        )
    config = plan.config
    if config.trail_pct is not None:
        armed = (
            f" once the profit reaches {config.trail_activation_pct:.4g}"
            if config.trail_activation_pct
            else ""
        )
        lines.append(f"  trailing: {config.trail_pct:.4g} below the best price{armed}")
    if config.trail_atr_multiple is not None:
        lines.append(
            f"  chandelier trailing: {config.trail_atr_multiple:g} ATR below the best price"
        )
    return lines


def render_table(
    opened: Position,
    decisions: list[Decision],
    kinds: list[str] | None = None,
    fills: list[float | None] | None = None,
) -> str:
    header = ("#", "price", "R", "peak R", "state", "stop", "exit", "tags", "remaining", "realized")
    if kinds is not None:
        header = ("time", "tick", *header[1:7], "fill", *header[7:])
    rows = [header]
    skipped = skipped_levels(opened, decisions, kinds)
    for i, d in enumerate(decisions, 1):
        e = event(d, skipped=skipped[i - 1])
        if fills is not None:  # realized at the backtest's fills, as the total line
            e["realized_profit"] = _num(realized_profit(opened, decisions[:i], fills[:i]))
        tags = ",".join(e["exit_tags"])
        if e["skipped_tags"]:  # passed without an order: below the exchange minimum
            tags = ",".join(filter(None, [tags, *(f"{t} skipped" for t in e["skipped_tags"])]))
        first = (str(i),) if kinds is None else (f"{d.at:%Y-%m-%d %H:%M}", kinds[i - 1])
        fill = fills[i - 1] if fills is not None else None
        filled = () if kinds is None else (f"{_num(fill):g}" if fill is not None else "-",)
        rows.append(
            (
                *first,
                f"{e['price']:g}",
                f"{e['r']:.2f}",
                f"{e['peak_r']:.2f}",
                e["state"],
                f"{e['stop']:g}",
                f"{e['exit_amount']:g}" if e["exit_amount"] else "-",
                *filled,
                tags or "-",
                f"{e['remaining']:g}",
                f"{e['realized_profit']:g}",
            )
        )
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    out = [*describe_plan(opened), ""]
    for row in rows:
        out.append("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out)
