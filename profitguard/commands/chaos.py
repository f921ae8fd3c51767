"""`profitguard chaos`: the live-mode reliability suite.

Runs the sample strategy live (dry_run false) against the offline exchange under
seeded faults, SIGKILLs and restarts the bot, and checks the exchange's ledger and
the bot's database after each run. One line per run, then the totals; exit status
1 when any check was broken.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chaos",
        help="live trading against the offline exchange under faults and killed bots",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help="runs (scenarios in turn; default: one run of each chosen scenario)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of faults and kills (default 1)")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="run only these scenarios (repeatable; default: all, in turn)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=80.0,
        metavar="SECONDS",
        help="trading time of each run after the bot first came up (default 80)",
    )
    parser.add_argument(
        "--workdir",
        default=None,
        help="keep each run's user_data (config, database, bot logs) here (default: a "
        "temporary directory, removed afterwards)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from profitguard.commands.usage import UsageError
    from profitguard.tooling.chaos.account_runner import ACCOUNT_SCENARIOS
    from profitguard.tooling.chaos.scenarios import SCENARIOS

    if args.list:
        for s in SCENARIOS:
            kinds = ",".join(sorted({f["kind"] for f in s.faults}))
            flags = [
                name
                for name, on in (
                    ("stoploss_on_exchange", s.stoploss_on_exchange),
                    ("limit_exits", s.limit_exits),
                    ("pause", s.pause),
                    ("kill_switch", s.kill_switch_at is not None),
                    ("orphan_stop", s.orphan_stop),
                )
                if on
            ]
            if s.pairs > 1:
                flags.append(f"pairs={s.pairs}")
            print(f"{s.name:<28} faults={kinds} kills={','.join(s.kills)} {' '.join(flags)}")
        for a in ACCOUNT_SCENARIOS:
            print(
                f"{a.name:<28} account: 2 bots, max_open_positions={a.max_open_positions}, "
                f"{a.disruption} (PostgreSQL)"
            )
        return 0
    if args.runs is not None and args.runs < 1:
        raise UsageError(f"--runs must be >= 1, was {args.runs}")
    if not args.duration > 0:
        raise UsageError(f"--duration must be > 0, was {args.duration}")
    known = {s.name: s for s in (*SCENARIOS, *ACCOUNT_SCENARIOS)}
    for name in args.scenario:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"--scenario: unknown {name!r}.{hint} (see --list)")
    chosen = [known[n] for n in args.scenario] or list(known.values())
    if args.runs is None:
        args.runs = len(chosen)  # every scenario once, however many the suite grows to

    from profitguard.tooling.chaos.account_runner import AccountScenario, run_account_scenario
    from profitguard.tooling.chaos.scenario_runner import run_scenario as run_one

    def run_scenario(scenario, **kwargs):
        if isinstance(scenario, AccountScenario):
            return run_account_scenario(scenario, **kwargs)
        return run_one(scenario, **kwargs)

    if args.workdir is not None:
        # absolute: each bot runs in its own run directory, where a relative path
        # to its config would name nothing
        return _run_all(chosen, args, Path(args.workdir).resolve(), run_scenario)
    with tempfile.TemporaryDirectory(prefix="profitguard-chaos-") as tmp:
        return _run_all(chosen, args, Path(tmp), run_scenario)


# the ledger checks of what is held, counted on their own in the summary
COUNTED_CHECKS = ("orphan_fill", "untracked_holding", "closed_but_held")


def _run_all(chosen, args, workdir, run_scenario) -> int:
    import time

    from profitguard.tooling.chaos.account_runner import AccountScenario
    from profitguard.tooling.chaos.postgres import PostgresUnavailable

    started = time.monotonic()
    restarts = faults = violations = lost = lost_runs = 0
    by_check = dict.fromkeys(COUNTED_CHECKS, 0)
    accounts = account_violations = account_skipped = 0
    for i in range(args.runs):
        scenario = chosen[i % len(chosen)]
        try:
            result = run_scenario(
                scenario, seed=args.seed + i // len(chosen), root=workdir / f"run-{i + 1:02d}",
                duration_s=args.duration,
            )  # fmt: skip
        except PostgresUnavailable as exc:
            print(f"{i + 1:>3} {scenario.name:<28} skipped: PostgreSQL: {exc}", flush=True)
            account_skipped += 1
            continue
        if isinstance(scenario, AccountScenario):
            accounts += 1
            account_violations += len(result.violations)
        print(f"{i + 1:>3} {result.line()}", flush=True)
        for violation in result.violations:
            print(f"      VIOLATION {violation}", flush=True)
        for note in result.notes:
            print(f"      note: {note}", flush=True)
        restarts += result.restarts
        faults += result.faults
        violations += len(result.violations)
        lost += result.lost_answers
        lost_runs += 1 if result.lost_answers else 0
        for violation in result.violations:
            if violation.check in by_check:
                by_check[violation.check] += 1
    minutes = (time.monotonic() - started) / 60
    skipped = f", {account_skipped} skipped (no PostgreSQL)" if account_skipped else ""
    print(f"account scenarios: {accounts} runs{skipped}, violations: {account_violations}")
    print(f"seed: {args.seed}")
    print(f"time: {minutes:.1f} min")
    print(f"runs: {args.runs}")
    print(f"restarts: {restarts}")
    print(f"faults injected: {faults}")
    print(f"lost answers: {lost} in {lost_runs} runs")
    print("holdings: " + " ".join(f"{name}={n}" for name, n in by_check.items()))
    print(f"violations: {violations}")
    return 1 if violations else 0
