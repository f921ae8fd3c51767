"""Run one shared-account chaos scenario: two bots (real `freqtrade trade`, live) on
ONE offline exchange account, each with its own pairs and trades database, sharing one
risk budget (account `max_open_positions` 1) on a PostgreSQL server the run starts
itself on 127.0.0.1; the scenario's disruption (`account_faults`) hits the account
while they trade, then the checks read the ledger.

The checks: the account's (`account_checks`: never more positions held than the
account allows, no entry while its database is down, a killed bot's reservation
holds its slot and then frees it, every open trade with a stop at the end) and each
bot's own (`run_checks.check_run` on the ledger of its pair: no level twice, no stop
looser after a restart, nothing held under no trade, …).

Bounded like `scenario_runner`: trading ends `duration_s` after both bots first came up, or
once the disruption is done, at most `duration_s + 60` s.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from profitguard.engine.protection_config import preset
from profitguard.tooling.chaos import scenario_runner
from profitguard.tooling.chaos.account_checks import (
    AccountRecord,
    Outage,
    ReservedKill,
    check_account,
)
from profitguard.tooling.chaos.account_faults import DISRUPTIONS
from profitguard.tooling.chaos.postgres import LocalPostgres
from profitguard.tooling.chaos.run_checks import Life, RunRecord, Violation, check_run
from profitguard.tooling.chaos.run_readers import (
    db_orders,
    db_trades,
    fetch_ledger,
    tagged_ledger_orders,
)
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.harness import Workspace, start_exchange
from profitguard.tooling.exchange.private import Credentials
from profitguard.tooling.exchange.server import ReplayOptions

STRATEGY = "ChaosAccount"
STRATEGY_FILE = Path(__file__).resolve().parent / "strategies" / f"{STRATEGY}.py"
BOTS = ("bot-a", "bot-b")
ACCOUNT = "main"
DATABASE = "account"


@dataclass(frozen=True)
class AccountScenario:
    name: str
    disruption: str  # a key of account_faults.DISRUPTIONS
    faults: tuple[dict, ...] = ()  # the exchange's, as `Scenario.faults`
    max_open_positions: int = 1
    reservation_ttl: float = 10.0

    def __post_init__(self) -> None:
        if self.disruption not in DISRUPTIONS:
            raise ValueError(f"scenario {self.name!r}: unknown disruption {self.disruption!r}")


ACCOUNT_SCENARIOS: tuple[AccountScenario, ...] = (
    AccountScenario("account-kill-reserved", "kill_reserved"),
    AccountScenario("account-drop-mid-transaction", "drop_connections"),
    AccountScenario("account-restart-postgresql", "restart_db"),
)


def _workspace(
    root: Path, url: str, bot: str, pairs: list[str], account_url: str, scenario, key, secret
):
    ws = Workspace.create(
        root,
        exchange_url=url,
        pairs=pairs,
        strategies=[STRATEGY_FILE],
        timeframe="1m",
        max_open_trades=1,
        stake_amount="unlimited",
        dry_run=False,
        key=key,
        secret=secret,
        dry_run_wallet=10_000,
        bot_name=bot,
        internals={"process_throttle_secs": 1, "heartbeat_interval": 1},
    )
    config = json.loads(ws.config.read_text())
    config["exchange"]["ccxt_config"]["timeout"] = scenario_runner.CCXT_TIMEOUT_MS
    config["exchange"]["ccxt_async_config"] = {"timeout": scenario_runner.CCXT_TIMEOUT_MS}
    account = {
        "name": ACCOUNT,
        "db_url": account_url,
        "max_open_positions": scenario.max_open_positions,
        "reservation_ttl": scenario.reservation_ttl,
        "heartbeat_stale": 30,
        # stop-outs are part of every run, and the pairs replay one path
        "max_consecutive_losses": None,
        "max_daily_loss": None,
        "max_correlated_positions": None,
    }
    config["profitguard"] = {"risk": {"account": account}}
    ws.config.write_text(json.dumps(config, indent=4) + "\n")
    return ws


class AccountRun:
    """The bots, the account's server and what was done to them, for one scenario."""

    def __init__(self, scenario, root: Path, server: LocalPostgres, exchange, duration_s):
        self.scenario, self.root, self.server, self.exchange = scenario, root, server, exchange
        self.duration_s = duration_s
        self.bot_names = BOTS
        # two pairs each: Freqtrade locks a pair for the rest of the candle after an exit,
        # and a bot locked out of its only pair could not take a slot freed meanwhile
        self.pairs = {
            bot: list(scenario_runner.PAIRS[i : 2 * len(BOTS) : len(BOTS)])
            for i, bot in enumerate(BOTS)
        }
        self.database, self.account_name = DATABASE, ACCOUNT
        self.workspaces: dict[str, Workspace] = {}
        self.bots: dict[str, scenario_runner._Bot | None] = {}
        self.lives: dict[str, list[Life]] = {b: [] for b in BOTS}
        self.samples: dict[str, list] = {b: [] for b in BOTS}
        self.first_back: float | None = None
        self.notes: list[str] = []
        self.events: list[dict] = []
        self.outages: list[Outage] = []
        self.kills: list[ReservedKill] = []
        self._ledger: tuple[float, dict] | None = None
        self.tagged_all: list[dict] = []  # every bot's ledger orders, tagged (the checks')

    def pairs_of(self, bot: str, *, others: bool = False) -> list[str]:
        return [p for b, pairs in self.pairs.items() if (b != bot) == others for p in pairs]

    def ledger(self) -> dict:
        """The exchange's ledger (read at most once per poll)."""
        now = time.time()
        if self._ledger is None or now - self._ledger[0] > scenario_runner.POLL_S / 2:
            self._ledger = (now, fetch_ledger(self.exchange.url))
        return self._ledger[1]

    def start(self, bot: str) -> float:
        number = len(self.lives[bot]) + 1
        self.bots[bot] = scenario_runner._Bot(self.workspaces[bot], number, STRATEGY)
        return time.time()

    def kill(self, bot: str) -> float:
        process = self.bots[bot]
        sample = self.samples[bot][-1][1] if self.samples[bot] else {}
        process.life.stops_at_end = {t: stop for t, (is_open, stop) in sample.items() if is_open}
        process.kill()
        self.lives[bot].append(process.life)
        self.bots[bot] = None
        return process.life.ended

    def restart(self, bot: str) -> float:
        return self.start(bot)

    def poll(self, now: float) -> None:
        """Each running bot's heartbeats and trades; a bot that exited by itself restarts."""
        for bot, process in self.bots.items():
            if process is None:
                continue
            process.refresh()
            trades = db_trades(self.workspaces[bot].db_path)
            sample = {t["id"]: (bool(t["is_open"]), t["stop_loss"]) for t in trades}
            self.samples[bot].append((now, sample))
            if process.proc.poll() is not None:
                self.notes.append(f"{bot} exited by itself (status {process.proc.returncode})")
                process._end(killed=False)
                self.lives[bot].append(process.life)
                self.start(bot)
        backs = [p.life.back for p in self.bots.values() if p is not None]
        if self.first_back is None and len(backs) == len(BOTS) and None not in backs:
            self.first_back = max(backs)

    def stop_all(self) -> None:
        for bot, process in self.bots.items():
            if process is not None:
                process.stop()
                self.lives[bot].append(process.life)


def run_account_scenario(
    scenario: AccountScenario, *, seed: int, root: Path, duration_s: float = 80.0
) -> scenario_runner.ScenarioResult:
    """Raises `postgres.PostgresUnavailable` when no PostgreSQL server can be started."""
    started = time.monotonic()
    rng = random.Random(f"{seed}:{scenario.name}")
    key, secret = "chaos-" + secrets.token_hex(8), secrets.token_hex(24)
    plan = FaultPlan.from_dict(
        {"seed": rng.randrange(2**31), "faults": [dict(f) for f in scenario.faults]}
    )
    server = LocalPostgres()
    exchange = None
    try:
        server.start()
        account_url = server.new_database(DATABASE)
        pairs = scenario_runner.PAIRS[: 2 * len(BOTS)]
        replay = ReplayOptions(
            seconds_per_candle=1.0,
            timeframe="1m",
            sources={
                p: scripted_source(
                    scenario_runner.chaos_path(), "1m", history=scenario_runner.HISTORY
                )
                for p in pairs
            },
        )
        exchange = start_exchange(
            replay=replay, credentials=Credentials(key, secret), balances={"USDT": 10_000.0},
            faults=plan,
        )  # fmt: skip
        run = AccountRun(scenario, root, server, exchange, duration_s)
        for bot, pair in run.pairs.items():
            run.workspaces[bot] = _workspace(
                root / bot, exchange.url, bot, pair, account_url, scenario, key, secret
            )
            run.start(bot)
        disruption = DISRUPTIONS[scenario.disruption](run, rng)
        hard_stop = time.time() + duration_s + 60
        while time.time() < hard_stop:
            time.sleep(scenario_runner.POLL_S)
            now = time.time()
            run.poll(now)
            ended = run.first_back is not None and now > run.first_back + duration_s
            if ended and disruption.done:
                break
            disruption.step(now)
        if not disruption.done:
            run.notes.append(f"the {scenario.disruption} disruption did not finish in time")
        if hasattr(disruption, "close"):
            disruption.close()
        run.stop_all()
        violations, notes = _check(run)
    finally:
        if exchange is not None:
            exchange.stop()
        server.close()
    trades = sum(len(db_trades(ws.db_path)) for ws in run.workspaces.values())
    exits: dict[str, int] = {}
    for order in run.tagged_all:
        if order["side"] == "sell" and order["filled"] > 0 and order["tag"]:
            exits[order["tag"]] = exits.get(order["tag"], 0) + 1
    return scenario_runner.ScenarioResult(
        name=scenario.name,
        seed=seed,
        restarts=sum(1 for lives in run.lives.values() for life in lives if life.killed),
        faults=plan.total + len(run.outages) + sum(e["dropped"] for e in run.events),
        trades=trades,
        exits=exits,
        violations=violations,
        seconds=time.monotonic() - started,
        notes=run.notes + notes,
        lost_answers=scenario_runner.lost_answers(plan),
    )


def _bot_record(run: AccountRun, bot: str, ledger: dict) -> RunRecord:
    """One bot's run as the single-bot checks read it: the ledger of its own pairs."""
    pairs = run.pairs[bot]
    pair = pairs[0]  # the markets are alike: one's lot step and minimum notional
    mine = {
        **ledger,
        "orders": [o for o in ledger["orders"] if o["pair"] in pairs],
        "fills": [f for f in ledger["fills"] if f["pair"] in pairs],
    }
    ws, feed, market = run.workspaces[bot], run.exchange.api.feed, run.exchange.api.markets[pair]
    orders, lives = db_orders(ws.db_path), run.lives[bot]
    end = lives[-1].ended
    return RunRecord(
        ledger=mine,
        trades=db_trades(ws.db_path),
        orders=orders,
        custom=[],
        lives=lives,
        samples=run.samples[bot],
        levels_r=tuple(level.level for level in preset("r_ladder").take_profits),
        tp_fractions=tuple(level.fraction for level in preset("r_ladder").take_profits),
        price=lambda p, t: float(feed.last_price(p, int(t * 1000))),
        stoploss_on_exchange=False,
        end=end,
        step=market.step_size,
        min_notional=market.min_notional,
        dust=market.min_notional / float(feed.last_price(pair, int(end * 1000))),
        tagged=tagged_ledger_orders(mine, orders),
    )


def _check(run: AccountRun) -> tuple[list[Violation], list[str]]:
    ledger = fetch_ledger(run.exchange.url)
    violations: list[Violation] = []
    notes: list[str] = []
    for bot in BOTS:
        record = _bot_record(run, bot, ledger)
        run.tagged_all += record.tagged
        found, findings = check_run(record)
        violations += [Violation(v.check, f"{bot}: {v.detail}") for v in found]
        notes += [f"{bot}: {n}" for n in findings]
    market = run.exchange.api.markets[run.pairs[BOTS[0]][0]]
    account = AccountRecord(
        ledger=ledger,
        trades={bot: db_trades(ws.db_path) for bot, ws in run.workspaces.items()},
        max_open_positions=run.scenario.max_open_positions,
        min_notional=market.min_notional,
        reservation_ttl=run.scenario.reservation_ttl,
        end=max(life.ended for lives in run.lives.values() for life in lives),
        outages=run.outages,
        kills=run.kills,
    )
    violations += check_account(account)
    notes += _account_notes(run, ledger)
    (run.root / "chaos-account-record.json").write_text(
        json.dumps(
            {
                "violations": [str(v) for v in violations],
                "outages": [o.__dict__ for o in run.outages],
                "kills": [k.__dict__ for k in run.kills],
                "events": run.events,
                "ledger": ledger,
            },
            indent=1,
            default=str,
        )
    )
    return violations, notes


def _account_notes(run: AccountRun, ledger: dict) -> list[str]:
    """What the disruption did, for the run's lines: entries refused while the account
    was out of reach, exits filled meanwhile, connections ended, reservations killed."""
    refused = 0
    for ws in run.workspaces.values():
        for log in (ws.userdir / "logs").glob("chaos-life-*.log"):
            refused += log.read_text(errors="replace").count("GUARD_STATE_UNREADABLE")
    out = []
    if run.outages:
        exits = sum(
            1
            for f in ledger["fills"]
            if f["side"] == "SELL"
            and any(o.began <= f["time"] / 1000 <= o.ended for o in run.outages)
        )
        down = sum(o.ended - o.began for o in run.outages)
        out.append(
            f"account database down {len(run.outages)} time(s), {down:.0f}s: "
            f"{exits} exit fill(s) meanwhile"
        )
    if run.events:
        out.append(f"connections ended mid-transaction: {sum(e['dropped'] for e in run.events)}")
    for kill in run.kills:
        out.append(
            f"{kill.bot} SIGKILLed {kill.killed - kill.reserved:.1f}s after the account "
            f"reserved its {kill.pair} entry, restarted {kill.restarted - kill.killed:.0f}s later"
        )
    if refused:
        out.append(f"entries refused by an unreachable account (GUARD_STATE_UNREADABLE): {refused}")
    return out
