"""`profitguard compare`: one strategy's entries under several exit policies, A/B.

Runs one Freqtrade backtest per policy against the offline exchange (started here),
on the same data and config, and prints one table: trades, win rate, expectancy,
profit, profit factor and max drawdown, in R and in money side by side. Entries are
made identical (`report.same_entries`): position stacking with unlimited open
trades, the risk gate's entry rules off, and every entry sized to risk the same
money at the strategy's own initial stop, so every entry signal is one trade under
every policy (the table checks it) and money is proportional to R. R is measured
against the initial stop the strategy's own exits opened each entry with, so a
policy with a tighter stop does not shrink its R unit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from profitguard.commands.report import add_common, config_files

DEFAULT_STRATEGY = "ProfitGuardSample"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="A/B table of exit policies on the same entries (Freqtrade backtests, offline)",
        description=__doc__.splitlines()[0],
    )
    add_common(parser)
    parser.add_argument(
        "--fixed",
        default="0.02:0.05",
        metavar="STOP:TARGET",
        help="the fixed stop and target policy, as ratios (default: %(default)s)",
    )
    parser.add_argument(
        "--params",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="add a policy: the strategy with these hyperopt parameters (repeatable)",
    )
    parser.add_argument("--timerange", help="Freqtrade's --timerange")
    parser.add_argument(
        "--timeframe-detail", help="Freqtrade's --timeframe-detail (slower, closer to live)"
    )
    parser.set_defaults(func=run)


def _fixed(text: str) -> tuple[float, float]:
    from profitguard.commands.usage import UsageError

    try:
        stop, target = (float(x) for x in text.split(":"))
    except ValueError:
        raise UsageError(f"argument --fixed: STOP:TARGET ratios, was {text!r}") from None
    if not (0 < stop < 1 and target > 0):
        raise UsageError(f"argument --fixed: ratios in (0, 1), was {text!r}")
    return stop, target


def run(args: argparse.Namespace) -> int:
    from profitguard.commands.usage import UsageError
    from profitguard.report import freqtrade_setup as fs
    from profitguard.report import same_entries
    from profitguard.report.analytics import take_profit_shortfall
    from profitguard.report.compare_table import policy_figures, tp_fill_note, verdict
    from profitguard.report.figures import trade_key
    from profitguard.report.policies import Policy, default_policies, write_policy
    from profitguard.report.records import latest_result, load_backtest
    from profitguard.tooling.exchange import freqtrade_config as ftc
    from profitguard.tooling.exchange.harness import freqtrade_argv, offline_env, start_exchange

    stop, target = _fixed(args.fixed)
    for p in args.params:
        if not p.is_file():
            raise UsageError(f"argument --params: no such file: {str(p)!r}")
    files = config_files(args)
    strategy_name = args.strategy or DEFAULT_STRATEGY
    config = fs.load_config(files, args.userdir, strategy_name, datadir=args.datadir)
    fs.quiet_freqtrade()
    strategy = fs.load_strategy(config)
    strategy_file = Path(strategy.__file__).resolve()
    own_exits = fs.exits_of(strategy)
    pairs = config["exchange"]["pair_whitelist"]
    try:
        unit = same_entries.risk_unit(config)
    except ValueError as exc:
        raise UsageError(f"argument --config: {exc}") from None
    no_data = missing_candles(Path(config["datadir"]), pairs, strategy.timeframe, config)
    if no_data:
        raise UsageError(
            f"no {strategy.timeframe} candles in {config['datadir']} for {', '.join(no_data)}: "
            "`profitguard data generate` writes the demo's (as `./run demo` does), or "
            "`freqtrade download-data` fetches real ones"
        )
    policies = default_policies(stop, target) + [
        Policy(f"params {p.name}", f"the strategy with the parameters of {p}", params_file=p)
        for p in args.params
    ]
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if args.json else _say
    results = []
    with tempfile.TemporaryDirectory(prefix="profitguard-compare-") as tmp:
        tmpdir = Path(tmp)
        strategies = tmpdir / "strategies"
        strategies.mkdir()
        names = [
            write_policy(strategies, strategy_name, strategy_file, policy, i, unit)
            for i, policy in enumerate(policies)
        ]
        with start_exchange(datadir=Path(config["datadir"]), pairs=pairs, port=0) as exchange:
            override = tmpdir / "compare.json"
            ftc.write_config(
                override,
                {
                    "exchange": {"ccxt_config": ftc.ccxt_config(exchange.url)},
                    **same_entries.entry_settings(unit),
                },
            )
            for policy, name in zip(policies, names, strict=True):
                outdir = tmpdir / f"results-{name}"
                outdir.mkdir()
                argv = freqtrade_argv(
                    "backtesting",
                    *[a for f in files for a in ("--config", str(f))],
                    "--config",
                    str(override),
                    "--userdir",
                    str(config["user_data_dir"]),
                    "--datadir",
                    str(config["datadir"]),
                    "--strategy",
                    name,
                    "--strategy-path",
                    str(strategies),
                    *same_entries.BACKTEST_FLAGS,
                    "--backtest-directory",
                    str(outdir),
                    *(["--timerange", args.timerange] if args.timerange else []),
                    *(
                        ["--timeframe-detail", args.timeframe_detail]
                        if args.timeframe_detail
                        else []
                    ),
                )
                say(f"==> policy {policy.name}: freqtrade backtesting --strategy {name}")
                done = subprocess.run(
                    argv,
                    env=offline_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                if done.returncode != 0:
                    print(done.stdout[-4000:], file=sys.stderr)
                    print(
                        f"profitguard compare: error: the backtest of policy {policy.name!r} "
                        f"failed (exit status {done.returncode})",
                        file=sys.stderr,
                    )
                    return 1
                result = load_backtest(latest_result(outdir), name)
                results.append((policy, result))

    baseline = results[0][1].trades
    reference = {trade_key(t): t.initial_stop for t in baseline}
    figures = [
        policy_figures(policy.name, policy.description, result.trades, reference)
        for policy, result in results
    ]
    entry_sets = [{trade_key(t) for t in result.trades} for _, result in results]
    currency = config.get("stake_currency", "")
    shortfall = take_profit_shortfall(baseline, own_exits) if own_exits is not None else []
    identical = all(s == entry_sets[0] for s in entry_sets)
    out = {
        "strategy": strategy_name,
        "stake_currency": currency,
        "entries_identical": identical,
        "risk_per_trade_abs": unit,
        "entries_note": (
            f"Entries: {'identical' if identical else 'NOT identical'} across policies "
            f"({len(entry_sets[0])} in the baseline): position stacking, unlimited open "
            "trades, the risk gate's entry rules off, so every entry signal is one trade "
            "under every policy."
        ),
        "r_note": (
            "R = net profit (fees included) / (amount x |entry - the initial stop the "
            "strategy's own exits opened the entry with|). Every entry is sized to lose "
            f"{unit:,.2f} {currency} at that stop ({same_entries.RISK_PER_TRADE:.0%} of the "
            "config's dry_run_wallet), in every policy: money = R x "
            f"{unit:,.2f} {currency} (up to the amount step). Config: "
            f"{', '.join(map(str, files))}"
            + (f"; detail {args.timeframe_detail}" if args.timeframe_detail else "")
        ),
        "policies": figures,
        "verdict": verdict(figures),
        "take_profit_shortfall": [asdict(s) for s in shortfall],
        "tp_fill_note": tp_fill_note(shortfall, len(baseline), figures),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print_compare(out)
    if args.html is not None:
        from profitguard.report.html import compare_page

        args.html.write_text(compare_page(out))
        if not args.json:
            print(f"wrote {args.html}")
    return 0 if identical else 1


def missing_candles(datadir: Path, pairs: list[str], timeframe: str, config: dict) -> list[str]:
    """The `pairs` with no `timeframe` candles in `datadir` (every backtest would fail)."""
    from profitguard.tooling.exchange.candle_files import scan

    futures = config.get("trading_mode") == "futures"
    have = scan(datadir, "futures") if futures else scan(datadir)
    return [p for p in pairs if (p, timeframe) not in have]


def _say(message: str) -> None:
    print(message, flush=True)


def print_compare(out: dict) -> None:
    from profitguard.report.compare_table import table_rows
    from profitguard.report.tables import print_table

    headers, rows = table_rows(out["policies"], out["stake_currency"])
    print_table(rows, headers, f"EXIT POLICIES ON THE SAME ENTRIES: {out['strategy']}")
    print(out["entries_note"])
    print(out["r_note"])
    for p in out["policies"]:
        print(f"  {p['name']}: {p['description']}")
    print(out["tp_fill_note"])
    for line in out["verdict"]:
        print(line)
