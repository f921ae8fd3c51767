"""`profitguard report`: a backtest result (or a trades database) in R.

With no arguments: the latest backtest result of the config's user directory
(`user_data/config.json`, as Freqtrade's commands default). `--file` reads another
result, `--db` a dry-run/live trades database (closed trades: a SQLite file or
any `db_url` Freqtrade accepts; repeated, the trades of several bots together, as
the bots of a shared account). `--check` replays
every trade through the engine on the same candles; `--json` prints one JSON
object; `--html FILE` writes a self-contained page with charts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

DEFAULT_CONFIG = Path("user_data/config.json")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        action="append",
        type=Path,
        help="Freqtrade config file(s), merged in order as Freqtrade does "
        f"(default: {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--userdir", type=Path, help="Freqtrade user directory (default: the config's)"
    )
    parser.add_argument("-s", "--strategy", help="strategy (default: the result's)")
    parser.add_argument(
        "--datadir", type=Path, help="candle data directory (default: the config's)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of tables"
    )
    parser.add_argument(
        "--html", type=Path, metavar="FILE", help="also write a self-contained HTML page"
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="a backtest result or trades database in R (expectancy, levels, exits, parity)",
        description=__doc__.splitlines()[0],
    )
    add_common(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--file", type=Path, help="backtest result (.zip or .json); default: the latest"
    )
    source.add_argument(
        "--db",
        action="append",
        metavar="[BOT=]DB",
        help="Freqtrade trades database (dry-run or live): a SQLite file or a db_url "
        "(postgresql+psycopg://user:pass@host/db); repeated: their trades together (the "
        "bots of a shared account), each trade labelled with its bot: BOT= names it, "
        "else the database's file (or database) name",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="replay every trade through the engine on the same candles and report parity",
    )
    parser.add_argument(
        "--timeframe-detail",
        help="with --check: the detail timeframe the backtest used (default: the result's)",
    )
    parser.add_argument(
        "--trades", default="20", help="how many trades to list (a number, or 'all'; default 20)"
    )
    parser.set_defaults(func=run)


def config_files(args) -> list[Path]:
    from profitguard.commands.usage import UsageError

    files = args.config or [DEFAULT_CONFIG]
    for f in files:
        if not f.is_file():
            raise UsageError(f"argument --config: no such file: {str(f)!r}")
    return files


def run(args: argparse.Namespace) -> int:
    from profitguard.commands.usage import UsageError
    from profitguard.report import freqtrade_setup as fs
    from profitguard.report.build import build_report
    from profitguard.report.figures import trade_key
    from profitguard.report.records import ResultError, latest_result, load_backtest, load_db
    from profitguard.trades_db import describe

    limit = None if args.trades == "all" else _positive_int(args.trades)
    config = fs.load_config(config_files(args), args.userdir, args.strategy, datadir=args.datadir)
    fs.quiet_freqtrade()  # after the config: loading it sets Freqtrade's logging up
    try:
        if args.db is not None:
            if args.check:
                raise UsageError("argument --check: replays a backtest result, not a database")
            labelled = bot_databases(args.db)
            records = [record for bot, db in labelled for record in load_db(db, bot)]
            strategy_name = args.strategy or config.get("strategy")
            source = ", ".join(describe(db) if "://" in db else db for _, db in labelled)
            stats: dict = {}
        else:
            path = args.file or latest_result(Path(config["user_data_dir"]) / "backtest_results")
            result = load_backtest(path, args.strategy)
            records = result.trades
            strategy_name = result.strategy
            source = str(path)
            stats = result.stats
    except ResultError as exc:
        raise UsageError(str(exc)) from None

    exits, strategy = None, None
    if strategy_name:
        config["strategy"] = strategy_name
        try:
            strategy = fs.load_strategy(config)
            exits = fs.exits_of(strategy)
        except Exception as exc:  # the report still stands without the ladders
            print(
                f"profitguard report: note: strategy {strategy_name} not loaded ({exc}); "
                "take-profit targets and stop kinds unknown",
                file=sys.stderr,
            )
    parity, detail = None, None
    if args.check and exits is None:
        raise UsageError("argument --check: needs the strategy's ladders (a ProfitGuardStrategy)")
    if exits is not None and args.db is None:
        # the engine's replay names the rule of each stop exit; --check prints its parity
        detail = args.timeframe_detail or stats.get("timeframe_detail") or None
        main_timeframe = stats.get("timeframe") or strategy.timeframe
        try:
            parity = run_check(records, exits, config, main_timeframe, detail)
        except (OSError, ValueError) as exc:
            if args.check:
                raise UsageError(f"argument --check: the candles did not load ({exc})") from None
            print(
                f"profitguard report: note: no replay on the candles ({exc}); stop kinds "
                "from the engine's stop at each trade's peak",
                file=sys.stderr,
            )
    stop_rules = (
        {trade_key(t): p.stop_rule for t, p in zip(records, parity.trades, strict=True)}
        if parity is not None
        else None
    )
    report = build_report(
        records, exits, source=source, strategy=strategy_name, stop_rules=stop_rules
    )
    if not args.check:
        parity = None

    if args.json:
        out = report.to_json()
        if parity is not None:
            out["parity"] = parity.to_json()
        print(json.dumps(out, default=str))
    else:
        print_report(report, limit, config.get("stake_currency", ""))
        if parity is not None:
            print_parity(parity, detail)
    if args.html is not None:
        from profitguard.report.html import report_page

        args.html.write_text(report_page(report, parity))
        if not args.json:
            print(f"wrote {args.html}")
    return 0


_BOT_LABEL = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.*)$")


def bot_databases(values: list[str]) -> list[tuple[str | None, str]]:
    """`--db` values as (bot, database): `BOT=DB` names the bot; repeated without a name,
    each is named by its database (a SQLite file's name without `.sqlite`, with its
    directory when two are alike; a server's database name); one alone is not named."""
    from profitguard.commands.usage import UsageError

    parsed: list[tuple[str | None, str]] = []
    for value in values:
        match = _BOT_LABEL.match(value)
        if match is None or Path(value).exists():
            parsed.append((None, value))
        elif not match[2]:
            raise UsageError(f"argument --db: {value!r} names bot {match[1]!r} but no database")
        else:
            parsed.append((match[1], match[2]))
    if len(parsed) == 1 and parsed[0][0] is None:
        return parsed
    named = [(bot or _db_name(db, 1), db) for bot, db in parsed]
    names = [bot for bot, _ in named]
    named = [
        (bot if given or names.count(bot) == 1 else _db_name(db, 2), db)
        for (given, db), (bot, _) in zip(parsed, named, strict=True)
    ]
    seen = [bot for bot, _ in named]
    twice = sorted({bot for bot in seen if seen.count(bot) > 1})
    if twice:
        raise UsageError(
            f"argument --db: two databases labelled {twice[0]!r}: name each bot (BOT=DB)"
        )
    return named


def _db_name(db: str, parts: int) -> str:
    """A database's short name: a SQLite file's last `parts` path parts (no `.sqlite`),
    a server's database."""
    from sqlalchemy.engine import make_url

    from profitguard.trades_db import database_url, describe, sqlite_file

    url = database_url(db)
    path = sqlite_file(url)
    if path is None:
        return make_url(url).database or describe(url)
    tail = path.with_suffix("") if path.suffix == ".sqlite" else path
    return "/".join(tail.parts[-parts:])


def _positive_int(text: str) -> int:
    from profitguard.commands.usage import UsageError

    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"argument --trades: a number > 0 or 'all', was {text!r}")
    return int(text)


def print_report(report, limit, currency: str) -> None:
    from profitguard.report import tables

    print(f"profitguard report: {report.source} ({report.strategy or 'unknown strategy'})")
    print("R = net profit (exits - entry - fees, both sides) / (amount x |entry - initial stop|)")
    if not report.trades:
        print("no closed trades")
        return
    tables.print_trades(report.trades, limit)
    tables.print_distribution(report.distribution, report.summary.trades)
    tables.print_levels(report.levels, report.summary.trades)
    tables.print_kinds(report.kinds)
    tables.print_pairs(report.pairs)
    tables.print_bots(report.bots)
    tables.print_summary(report.summary, "SUMMARY IN R (fees included)")


def print_parity(parity, detail) -> None:
    from profitguard.report import tables

    n = len(parity.trades)
    exact, tick = parity.count("exact"), parity.count("within one tick")
    share = (exact + tick) / n if n else 0.0
    print(
        f"parity: {exact} of {n} trades match the engine exactly, {tick} within one price tick "
        f"({share:.1%} in all), {n - exact - tick} differ"
        + (f" (candles: {detail} detail)" if detail else "")
    )
    causes = parity.causes()
    if causes:
        tables.print_table(
            [(c, str(k), f"{e.pair} {e.open_date[:16]}: {e.detail}") for c, k, e in causes],
            ("Cause", "Trades", "Example"),
            "TRADES THAT DIFFER, BY CAUSE",
        )


def run_check(records, exits, config: dict, timeframe: str, detail: str | None = None):
    """Replay `records` on the config's data: the `detail` timeframe's candles when the
    backtest used one, else the `timeframe`'s as the strategy saw them, float noise
    snapped onto the tick (Freqtrade never hands the detail candles to the strategy).

    The tick each trade's exits are rounded to is the one Freqtrade's backtest uses
    (`report.ticks`), not the exchange's."""
    import bisect

    from freqtrade.data.history import load_pair_history

    from profitguard.engine import Candle
    from profitguard.freqtrade.prices import snap_to_tick
    from profitguard.report.parity import check
    from profitguard.report.ticks import BacktestTicks, decimals_of

    datadir = Path(config["datadir"])
    fmt = config.get("dataformat_ohlcv")
    snapped = detail is None
    frames: dict[str, list[Candle]] = {}
    stamps: dict[str, list] = {}
    ticks: dict[str, BacktestTicks] = {}
    steps: dict[str, float | None] = {}

    def load(pair, tf):
        return load_pair_history(pair, tf, datadir, data_format=fmt, fill_up_missing=False)

    for pair in sorted({t.pair for t in records}):
        main = load(pair, timeframe)
        ticks[pair] = BacktestTicks(main, pair)
        frame = main if detail is None else load(pair, detail)
        prices = frame[["open", "high", "low", "close"]].to_numpy(dtype=float)
        snap_tick = ticks[pair].finest()
        if snapped and snap_tick is not None and len(prices):
            # the strategy snaps float noise onto the tick; the data's precision stands in
            prices = snap_to_tick(prices, snap_tick)
        candles = [
            Candle(d.to_pydatetime(), o, h, lo, c)
            for d, (o, h, lo, c) in zip(frame["date"], prices.tolist(), strict=True)
        ]
        frames[pair] = candles
        stamps[pair] = [c.at for c in candles]
        amounts = [f.amount for t in records if t.pair == pair for f in t.exits] + [
            t.amount for t in records if t.pair == pair
        ]
        steps[pair] = 10.0 ** -decimals_of(amounts) if amounts else None

    def tick_of(trade) -> float | None:
        return ticks[trade.pair].at(trade.open_date) if trade.pair in ticks else None

    def candles_for(pair, start, end):
        times = stamps.get(pair, [])
        i = bisect.bisect_left(times, start)
        j = bisect.bisect_right(times, end)  # up to the candle the trade closed in
        return frames.get(pair, [])[i:j]

    return check(records, exits, candles_for, amount_steps=steps, tick_of=tick_of)
