"""Run one chaos scenario: the sample strategy live against a faulty offline exchange,
SIGKILLed at seeded moments and restarted on the same database, then checked.

Everything is bounded: the scenario ends ``duration_s`` after the bot first came up
(at most ``duration_s + 60`` s of wall clock, and ``SETTLE_S`` more when the bot was
stopped with a filled order its database lacks: a restart's reconciliation must see it
before the checks do), every wait has a timeout.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from profitguard.engine.protection_config import preset
from profitguard.tooling.chaos.run_checks import (
    CLOSE_TAG,
    Life,
    RunRecord,
    Violation,
    check_run,
    reported_ids,
)
from profitguard.tooling.chaos.run_readers import (
    db_custom_data,
    db_orders,
    db_trades,
    fetch_ledger,
    tagged_ledger_orders,
)
from profitguard.tooling.chaos.scenarios import Scenario
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.harness import (
    Workspace,
    offline_env,
    sigint_reaches_bots,
    start_exchange,
    stop_process,
)
from profitguard.tooling.exchange.private import Credentials
from profitguard.tooling.exchange.server import ReplayOptions

PAIR = "RST/USDT"
# a scenario trading several pairs at once (`Scenario.pairs`) takes them in this order
PAIRS = (
    PAIR, "QQQ/USDT", "ZZZ/USDT", "KLM/USDT", "XYZ/USDT", "ABC/USDT", "DEF/USDT", "GHI/USDT",
    "JKL/USDT", "MNO/USDT", "PQR/USDT", "STU/USDT",
)  # fmt: skip


def scenario_pairs(scenario: Scenario) -> list[str]:
    """The pairs a scenario trades (futures: `RST/USDT:USDT`, ...)."""
    pairs = PAIRS[: scenario.pairs]
    return [f"{p}:USDT" for p in pairs] if scenario.futures else list(pairs)


def _market_api(exchange, pair: str):
    """The offline exchange's API serving `pair` (spot, or USD-M futures)."""
    return exchange.api.futures if pair.endswith(":USDT") else exchange.api


STRATEGY = "ChaosSample"
# package data, so an installed profitguard finds it (user_data/strategies/ links to it)
STRATEGY_FILE = Path(__file__).resolve().parent / "strategies" / f"{STRATEGY}.py"
POLL_S = 0.5
# a bot stopped with an unrecorded filled order gets one more life, bounded by SETTLE_S:
# it ends SETTLED_AFTER_S after every such order is recorded or reported (the watchdog
# closes a reported entry in that time), so it trades as little as it can
SETTLE_S = 90.0
SETTLED_AFTER_S = 8.0
ORDER_PATHS = ("/api/v3/order", "/fapi/v1/order")
HISTORY = 300
CCXT_TIMEOUT_MS = 3000
_STAMP = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) "
_HEARTBEAT = re.compile(_STAMP + r".*Bot heartbeat")
# Freqtrade's log line when the exchange refuses an exit (or partial exit) order
_REFUSED_EXIT = re.compile(_STAMP + r".*(Unable to place order|Unable to exit trade)")


def zigzag(start: float, steps: int, up: float = 0.3, down: float = 0.15) -> list[float]:
    """A rise with pullbacks: each new high breaks out, RSI stays about 67."""
    path = [start]
    for i in range(steps):
        path.append(round(path[-1] + (up if i % 2 == 0 else -down), 4))
    return path


def chaos_path() -> list[float]:
    """History that trends up (the sample's indicators warm up), then cycles of a long
    climb (about 4R: every level), a short drop, a short climb (about 2R: the first
    level) and a drop through the stop."""
    path = zigzag(100.0, HISTORY)
    for _ in range(5):
        path = path[:-1] + zigzag(path[-1], 30)
        path += [round(path[-1] - 0.25 * i, 4) for i in range(1, 5)]
        path = path[:-1] + zigzag(path[-1], 14)
        path += [round(path[-1] - 0.3 * i, 4) for i in range(1, 5)]
    return path


@dataclass
class ScenarioResult:
    name: str
    seed: int
    restarts: int
    faults: int
    trades: int
    exits: dict[str, int]
    violations: list[Violation]
    seconds: float
    notes: list[str] = field(default_factory=list)
    lost_answers: int = 0  # answers to order requests the exchange dropped

    def line(self) -> str:
        exits = " ".join(f"{k}={v}" for k, v in sorted(self.exits.items())) or "-"
        lost = f"lost={self.lost_answers} " if self.lost_answers else ""
        return (
            f"{self.name:<28} restarts={self.restarts} faults={self.faults:<3} {lost}"
            f"trades={self.trades} exits[{exits}] violations={len(self.violations)} "
            f"({self.seconds:.0f}s)"
        )


def lost_answers(plan: FaultPlan) -> int:
    """Answers to order requests (placing, querying, cancelling one order: spot's
    `/api/v3/order`, futures' `/fapi/v1/order`) that the exchange dropped after acting."""
    return sum(
        1
        for fired in plan.log
        if fired["kind"] == "drop" and fired["target"].split(" ")[1] in ORDER_PATHS
    )


def _log_times(log: Path, pattern: re.Pattern) -> list[float]:
    """Times of the log lines matching ``pattern`` (Freqtrade logs local time)."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text(errors="replace").splitlines():
        match = pattern.match(line)
        if match:
            out.append(datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return out


class _Bot:
    """The freqtrade process of the current life."""

    def __init__(self, ws: Workspace, number: int, strategy: str = STRATEGY) -> None:
        self.log = ws.userdir / "logs" / f"chaos-life-{number}.log"
        self.out = self.log.open("w")
        sigint_reaches_bots()
        self.proc = subprocess.Popen(
            ws.argv("trade", "--strategy", strategy),
            cwd=ws.userdir.parent,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            env=offline_env(),
        )
        self.life = Life(started=time.time())

    def refresh(self) -> None:
        self.life.heartbeats = _log_times(self.log, _HEARTBEAT)

    def _final_refresh(self) -> None:
        self.refresh()
        self.life.refusals = _log_times(self.log, _REFUSED_EXIT)
        if self.log.exists():
            self.life.reported = reported_ids(self.log.read_text(errors="replace"))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self._end(killed=True)

    def stop(self) -> None:
        stop_process(self.proc, grace=20)
        self._end(killed=False)

    def _end(self, killed: bool) -> None:
        self.life.ended = time.time()
        self.life.killed = killed
        self.out.close()
        self._final_refresh()


def _workspace(root: Path, url: str, scenario: Scenario, key: str, secret: str) -> Workspace:
    kind = "limit" if scenario.limit_exits else "market"
    ws = Workspace.create(
        root,
        exchange_url=url,
        pairs=scenario_pairs(scenario),
        strategies=[STRATEGY_FILE],
        trading_mode="futures" if scenario.futures else "spot",
        timeframe="1m",
        max_open_trades=scenario.pairs,
        stake_amount="unlimited",
        dry_run=False,
        key=key,
        secret=secret,
        dry_run_wallet=10_000,
        market_orders=not scenario.limit_exits,
        internals={"process_throttle_secs": 1, "heartbeat_interval": 1},
        order_types={
            "entry": kind,
            "exit": kind,
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "limit",
            "stoploss_on_exchange": scenario.stoploss_on_exchange,
            "stoploss_on_exchange_interval": 2,
        },
    )
    config = json.loads(ws.config.read_text())
    config["exchange"]["ccxt_config"]["timeout"] = CCXT_TIMEOUT_MS  # slow answers time out
    config["exchange"]["ccxt_async_config"] = {"timeout": CCXT_TIMEOUT_MS}
    # the watchdog closes what profitguard bought and no trade holds (an entry whose
    # trade was never written, a trade closed while part of it is held)
    config["profitguard"] = {"watchdog": {"action": "exit"}}
    if scenario.pairs > 1:  # the pairs replay one path: all correlated, all allowed in
        risk = {"max_correlated_positions": None, "max_open_positions": scenario.pairs}
        config["profitguard"]["risk"] = risk
    ws.config.write_text(json.dumps(config, indent=4) + "\n")
    return ws


class _Kills:
    """When to kill the bot next: each kill moment's condition, then a seeded delay."""

    def __init__(self, moments: tuple[str, ...], rng: random.Random) -> None:
        self.moments = list(moments)
        self.rng = rng
        self.due: float | None = None
        self.random_at: float | None = None

    def next_due(self, life: Life, tagged: list[dict], trades: list[dict], now: float):
        if not self.moments or life.back is None:
            return None
        if self.due is not None:
            return self.due
        moment = self.moments[0]
        open_ids = {t["id"] for t in trades if t["is_open"]}
        filled = [o for o in tagged if o["filled"] > 0]
        tps = {
            (o["trade_id"], tag)
            for o in filled
            if o["side"] == "sell"
            for tag in (o["tag"] or "").split(",")
        }
        entered = {o["trade_id"] for o in filled if o["side"] == "buy"} & open_ids
        delay = None
        if (moment == "before_tp1" and any((t, "tp1") not in tps for t in entered)) or (
            moment == "between_levels"
            and any((t, "tp1") in tps and (t, "tp3") not in tps for t in open_ids)
        ):
            delay = self.rng.uniform(0, 2)
        elif moment == "tp_resting" and any(
            o["status"] in ("NEW", "PARTIALLY_FILLED")
            and o["side"] == "sell"
            and o["type"] == "LIMIT"
            for o in tagged
        ):
            delay = self.rng.uniform(0, 0.5)
        elif moment == "stop_placed" and any(
            o["type"] == "STOP_LOSS_LIMIT"
            and o["trade_id"] is None
            and o["status"] == "NEW"
            and o["time"] / 1000 > life.back
            for o in tagged
        ):
            delay = 0.0  # on the exchange, the bot still waiting for its answer
        elif moment == "entry_sent" and any(
            o["side"] == "buy"
            and o["trade_id"] is None
            and o["filled"] > 0
            and o["time"] / 1000 > life.back
            for o in tagged
        ):
            delay = 0.0  # filled on the exchange, the bot still waiting for its answer
        elif moment == "tp_window" and any(
            f["side"] == "SELL" and f["time"] / 1000 > life.back
            for o in tagged
            if (o["client_tag"] or "").startswith("tp")
            for f in o["fills"]
        ):
            # the bot sees the fill at its next loop, then asks for the fee (myTrades,
            # slowed in the scenario) between committing the order and the trade
            delay = self.rng.uniform(0.5, 3.0)
        elif moment == "after_fill" and any(
            f["side"] == "SELL" and f["time"] / 1000 > life.back for o in tagged for f in o["fills"]
        ):
            delay = 0.0
        elif moment == "random":
            if self.random_at is None:
                self.random_at = life.back + self.rng.uniform(4, 20)
            if now >= self.random_at:
                delay = 0.0
        if delay is None and now > life.back + 45:  # the moment never came: kill anyway
            delay = 0.0
        if delay is not None:
            self.due = now + delay
        return self.due

    def done_one(self) -> None:
        self.moments.pop(0)
        self.due = None
        self.random_at = None


def unrecorded_fills(tagged: list[dict]) -> list[dict]:
    """The filled orders with profitguard's client id that the bot's database lacks,
    other than the watchdog's closes (`run_checks.orphan_fill` judges what became of them)."""
    return [
        o
        for o in tagged
        if o["client_tag"] not in (None, CLOSE_TAG) and o["filled"] > 0 and o["trade_id"] is None
    ]


def _unrecorded(exchange, ws: Workspace) -> list[dict]:
    return unrecorded_fills(tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path)))


def _found(exchange, ws: Workspace, bot: _Bot) -> bool:
    """Every unrecorded filled order is now recorded, or reported in this life's log."""
    reported = reported_ids(bot.log.read_text(errors="replace")) if bot.log.exists() else set()
    return all(o["client_order_id"] in reported for o in _unrecorded(exchange, ws))


def _guard(ws: Workspace, action: str, reason: str) -> float:
    """Run the real `profitguard guard <action>` on the bot's own config (each bot has
    its own guard file, named by its bot_name)."""
    subprocess.run(
        [sys.executable, "-m", "profitguard.cli", "guard", action, "--config", str(ws.config),
         "--userdir", str(ws.userdir), "--reason", reason],
        check=True, capture_output=True, timeout=60, env=offline_env(),
    )  # fmt: skip
    return time.time()


def _plant_orphan_stop(exchange, ws: Workspace, trade: dict, key: str, secret: str) -> str:
    """A stop of `trade` for all it holds, named as profitguard names its stops, placed on
    the exchange behind the bot's back: what a bot killed right after placing one leaves."""
    import ccxt

    config = json.loads(ws.config.read_text())["exchange"]["ccxt_config"]
    api = ccxt.binance({**config, "apiKey": key, "secret": secret})
    price = float(exchange.api.feed.last_price(PAIR, int(time.time() * 1000)))
    client_id = f"pg-{trade['id']}-sl-99"
    api.create_order(
        PAIR, "STOP_LOSS_LIMIT", "sell", trade["amount"], round(price * 0.85, 2),
        {"stopPrice": round(price * 0.86, 2), "timeInForce": "GTC", "newClientOrderId": client_id},
    )  # fmt: skip
    return client_id


def run_scenario(
    scenario: Scenario, *, seed: int, root: Path, duration_s: float = 80.0
) -> ScenarioResult:
    started = time.monotonic()
    rng = random.Random(f"{seed}:{scenario.name}")
    key, secret = "chaos-" + secrets.token_hex(8), secrets.token_hex(24)
    plan = FaultPlan.from_dict(
        {"seed": rng.randrange(2**31), "faults": [dict(f) for f in scenario.faults]}
    )
    replay = ReplayOptions(
        seconds_per_candle=1.0,
        timeframe="1m",
        sources={
            pair: scripted_source(chaos_path(), "1m", history=HISTORY)
            for pair in scenario_pairs(scenario)
        },
    )
    exchange = start_exchange(
        replay=replay, credentials=Credentials(key, secret), balances={"USDT": 10_000.0},
        faults=plan,
    )  # fmt: skip
    notes: list[str] = []
    try:
        ws = _workspace(root, exchange.url, scenario, key, secret)
        lives: list[Life] = []
        samples: list = []
        kills = _Kills(scenario.kills, rng)
        paused_at = None
        kill_switch_at = None
        bot = _Bot(ws, 1)
        first_back = None
        hard_stop = time.time() + duration_s + 60
        while time.time() < hard_stop:
            time.sleep(POLL_S)
            now = time.time()
            bot.refresh()
            trades = db_trades(ws.db_path)
            sample = {t["id"]: (bool(t["is_open"]), t["stop_loss"]) for t in trades}
            samples.append((now, sample))
            if first_back is None and bot.life.back is not None:
                first_back = bot.life.back
            if first_back is not None and now > first_back + duration_s and not kills.moments:
                break
            if (
                scenario.kill_switch_at is not None
                and kill_switch_at is None
                and not kills.moments
                and bot.life.back is not None
                and now >= bot.life.back + scenario.kill_switch_at
            ):
                held = [t for t in trades if t["is_open"] and t["amount"]]
                last_chance = first_back is not None and now >= first_back + duration_s - 25
                if scenario.orphan_stop and held:
                    orphan = _plant_orphan_stop(exchange, ws, held[0], key, secret)
                    notes.append(f"orphan stop {orphan} placed behind the bot's back")
                if held or not scenario.orphan_stop or last_chance:
                    kill_switch_at = _guard(ws, "kill", "chaos: kill switch")
            if bot.proc.poll() is not None:
                notes.append(f"the bot exited by itself (status {bot.proc.returncode})")
                bot._end(killed=False)
                lives.append(bot.life)
                bot = _Bot(ws, len(lives) + 1)
                continue
            tagged = tagged_ledger_orders(fetch_ledger(exchange.url), db_orders(ws.db_path))
            due = kills.next_due(bot.life, tagged, trades, now)
            if due is None or now < due:
                continue
            if scenario.pause and paused_at is None:
                paused_at = _guard(ws, "pause", "chaos: pause before a kill")
            bot.life.stops_at_end = {
                tid: stop for tid, (is_open, stop) in sample.items() if is_open and stop
            }
            bot.kill()
            lives.append(bot.life)
            kills.done_one()
            bot = _Bot(ws, len(lives) + 1)
        bot.stop()
        lives.append(bot.life)
        if _unrecorded(exchange, ws):
            # stopped with a filled order its database lacks (the stop cut the answer off):
            # one more life, as a restart would, in which reconciliation finds it
            notes.append("one more life: the bot was stopped with an unrecorded filled order")
            bot = _Bot(ws, len(lives) + 1)
            settle_by = time.time() + SETTLE_S
            settled_at = None
            while time.time() < settle_by and bot.proc.poll() is None:
                time.sleep(POLL_S)
                bot.refresh()
                if settled_at is None and bot.life.back is not None and _found(exchange, ws, bot):
                    settled_at = time.time()  # the watchdog's close of a reported entry follows
                if settled_at is not None and time.time() > settled_at + SETTLED_AFTER_S:
                    break
            bot.stop()
            lives.append(bot.life)
        record = _record(exchange, ws, scenario, lives, samples, paused_at)
        record.kill_switch_at = kill_switch_at
    finally:
        exchange.stop()
    violations, findings = check_run(record)
    if first_back is None:  # nothing was checked: the run proves nothing
        violations.append(
            Violation("bot_never_up", f"no bot loop in {len(lives)} lives (see their logs)")
        )
    notes += [str(n) for n in findings]
    _save(root / "chaos-record.json", record, violations + findings)
    exits: dict[str, int] = {}
    for order in record.tagged:
        if order["side"] == "sell" and order["filled"] > 0 and order["tag"]:
            exits[order["tag"]] = exits.get(order["tag"], 0) + 1
    return ScenarioResult(
        name=scenario.name,
        seed=seed,
        restarts=sum(1 for life in lives if life.killed),
        faults=plan.total,
        trades=len(record.trades),
        exits=exits,
        violations=violations,
        seconds=time.monotonic() - started,
        notes=notes,
        lost_answers=lost_answers(plan),
    )


def _save(path: Path, record: RunRecord, violations: list[Violation]) -> None:
    """What the checks read, for a post-mortem (the bot's logs are next to it)."""
    from dataclasses import asdict

    data = {
        "violations": [str(v) for v in violations],
        "lives": [asdict(life) for life in record.lives],
        "samples": record.samples,
        "tagged": record.tagged,
        "ledger": record.ledger,
        "trades": record.trades,
        "custom": record.custom,
        "paused_at": record.paused_at,
    }
    path.write_text(json.dumps(data, indent=1, default=str))


def _record(exchange, ws, scenario, lives, samples, paused_at) -> RunRecord:
    from profitguard.bot_identity import identity_of
    from profitguard.guard_store import read_state
    from profitguard.tooling.exchange.freqtrade_config import load_json_config

    ledger = fetch_ledger(exchange.url)
    orders = db_orders(ws.db_path)
    pair = scenario_pairs(scenario)[0]  # every pair replays the same path and filters
    api = _market_api(exchange, pair)
    feed = api.feed
    guard_paused = None
    if paused_at is not None:
        bot = identity_of(load_json_config(ws.config))
        guard_paused = read_state(bot.guard_path(ws.userdir)).paused
    return RunRecord(
        ledger=ledger,
        trades=db_trades(ws.db_path),
        orders=orders,
        custom=db_custom_data(ws.db_path),
        lives=lives,
        samples=samples,
        levels_r=tuple(level.level for level in preset("r_ladder").take_profits),
        tp_fractions=tuple(level.fraction for level in preset("r_ladder").take_profits),
        price=lambda pair, t: float(feed.last_price(pair, int(t * 1000))),
        stoploss_on_exchange=scenario.stoploss_on_exchange,
        end=lives[-1].ended,
        step=api.markets[pair].step_size,
        min_notional=api.markets[pair].min_notional,
        # a holding worth less than the minimum notional cannot be sold: dust
        dust=api.markets[pair].min_notional
        / float(feed.last_price(pair, int(lives[-1].ended * 1000))),
        paused_at=paused_at,
        guard_paused_after=guard_paused,
        tagged=tagged_ledger_orders(ledger, orders),
    )
