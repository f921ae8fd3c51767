"""The chaos scenarios: faults at the exchange, kills of the bot, the stop's home.

Each scenario runs the sample strategy live against the offline exchange on the
same replayed path (rises with pullbacks that take the levels, and drops that hit
the stop), injects its faults and SIGKILLs the bot at its kill moments, restarting
it on the same database each time.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kill moments (see runner.KILL_CONDITIONS): the bot is killed when one holds.
KILLS = (
    "before_tp1",
    "tp_resting",
    "after_fill",
    "tp_window",
    "between_levels",
    "random",
    "stop_placed",
    "entry_sent",
)

# Fault rules (profitguard.tooling.exchange.faults) combined below.
F_5XX = {"kind": "http_error", "endpoint": "GET /api/v3/*", "probability": 0.06, "status": 503}
F_5XX_ORDER = {"kind": "http_error", "endpoint": "POST /api/v3/order", "count": 2, "status": 502}
F_429 = {"kind": "rate_limit", "endpoint": "GET /api/v3/*", "probability": 0.02, "retry_after": 1}
F_418 = {"kind": "ban", "endpoint": "GET /api/v3/depth", "count": 2, "retry_after": 1}
F_SLOW = {"kind": "slow", "endpoint": "GET /api/v3/order", "count": 2, "delay_s": 4.0}
F_DROP_ORDER = {"kind": "drop", "endpoint": "POST /api/v3/order", "count": 1, "after": 1}
F_DROP = {"kind": "drop", "endpoint": "GET /api/v3/*", "probability": 0.02}
F_REJECT = {"kind": "reject", "probability": 0.25, "reason": "insufficient_balance"}
F_FILTER = {"kind": "reject", "count": 1, "after": 1, "reason": "LOT_SIZE"}
F_PARTIAL = {"kind": "partial_fill", "probability": 0.6, "pieces": 3, "interval_ms": 1500}
F_CANCEL = {"kind": "fill_on_cancel", "probability": 0.5}
F_LAG = {"kind": "status_lag", "probability": 0.3, "lag_ms": 2000}
F_GAP = {"kind": "price_gap", "probability": 1.0, "gap": 0.02, "hold_ms": 4000}
# every order's answer 2.5 s late (under ccxt's 3 s timeout): a stop rests on the
# exchange while the bot still waits to record it, and the bot is killed then
F_SLOW_ORDERS = {"kind": "slow", "endpoint": "POST /api/v3/order", "probability": 1.0,
                 "delay_s": 2.5}  # fmt: skip
# Lost answers: the exchange acts on an order request (place, query, cancel: entries,
# take-profits, exits, and the stops resting on the exchange, which carry
# profitguard's client ids too) and the connection breaks before its answer
# arrives, for 10% of them.
F_LOST = {"kind": "drop", "endpoint": "* /api/v3/order", "probability": 0.1}
# Futures (USD-M, `/fapi`): 10% of the answers to order requests lost.
F_LOST_FUTURES = {"kind": "drop", "endpoint": "* /fapi/v1/order", "probability": 0.1}
# The fee lookup of a filled order slowed (under the chaos config's 3 s ccxt timeout):
# Freqtrade asks for it between committing the order and reducing the trade.
F_SLOW_FEES = {"kind": "slow", "endpoint": "GET /api/v3/myTrades", "probability": 1.0,
               "delay_s": 2.5}  # fmt: skip


# Pairs a lost-answer scenario trades at once: every order request of each is a
# chance to lose an answer (about 150 order requests a run on 12 pairs).
LOST_PAIRS = 12


@dataclass(frozen=True)
class Scenario:
    name: str
    faults: tuple[dict, ...]
    kills: tuple[str, ...]
    stoploss_on_exchange: bool = False
    limit_exits: bool = False  # exits as resting limit orders (take-profits rest)
    pause: bool = False  # pause the risk gate before the first kill
    # `profitguard guard kill` this many seconds after the bot is back from its last
    # kill (or first came up); the run must end flat
    kill_switch_at: float | None = None
    # right before the kill switch: a stop of the open trade, named as profitguard names
    # them, placed on the exchange behind the bot's back (a stop it forgot)
    orphan_stop: bool = False
    pairs: int = 1  # pairs traded at once (runner.PAIRS), one trade each
    # USD-M futures (`RST/USDT:USDT`, ...), long, isolated margin at 1x: exits are
    # reduce-only orders and the position's size is what is held
    futures: bool = False

    def __post_init__(self) -> None:
        unknown = [k for k in self.kills if k not in KILLS]
        if unknown:
            raise ValueError(f"scenario {self.name!r}: unknown kill moments {unknown}")
        if self.orphan_stop and self.kill_switch_at is None:
            raise ValueError(f"scenario {self.name!r}: orphan_stop needs kill_switch_at")
        if self.futures and (self.orphan_stop or self.stoploss_on_exchange):
            raise ValueError(f"scenario {self.name!r}: futures runs keep their stops in the bot")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("5xx-kill-before-tp1", (F_5XX,), ("before_tp1",)),
    Scenario(
        "lost-answers-soe-before-tp1",
        (F_LOST, F_5XX, F_LAG),
        ("before_tp1",),
        stoploss_on_exchange=True,
        pairs=LOST_PAIRS,
    ),
    Scenario("429-tp-resting", (F_429, F_PARTIAL), ("tp_resting",), limit_exits=True),
    Scenario(
        "lost-answers-418-after-fill",
        (F_LOST, F_418, F_5XX),
        ("after_fill", "random"),
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "lost-answers-slow-levels",
        (F_LOST, F_SLOW, F_LAG),
        ("between_levels",),
        limit_exits=True,
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "lost-answers-tp-window",
        (F_LOST, F_SLOW_FEES),
        ("tp_window", "tp_window"),
        limit_exits=True,
        pairs=LOST_PAIRS,
    ),
    Scenario("drop-order-soe", (F_DROP_ORDER, F_DROP), ("after_fill",), stoploss_on_exchange=True),
    Scenario("reject-between-levels", (F_REJECT, F_429), ("between_levels", "random")),
    Scenario("filter-reject-before-tp1", (F_FILTER, F_5XX), ("before_tp1",)),
    Scenario(
        "partial-tp-resting", (F_PARTIAL, F_LAG), ("tp_resting", "after_fill"), limit_exits=True
    ),
    Scenario(
        "lost-answers-cancel-race-soe",
        (F_LOST, F_CANCEL, F_5XX),
        ("between_levels",),
        stoploss_on_exchange=True,
        pairs=LOST_PAIRS,
    ),
    Scenario("cancel-race-limit-exits", (F_CANCEL, F_PARTIAL), ("tp_resting",), limit_exits=True),
    Scenario(
        "lost-answers-lag-random",
        (F_LOST, F_LAG, F_DROP),
        ("random", "random"),
        pairs=LOST_PAIRS,
    ),
    Scenario("gap-through-stop-soe", (F_GAP, F_5XX), ("before_tp1",), stoploss_on_exchange=True),
    Scenario(
        "lost-answers-gap-soe",
        (F_LOST, F_GAP, F_LAG),
        ("after_fill",),
        stoploss_on_exchange=True,
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "lost-answers-kill-switch",
        (F_LOST, F_5XX),
        ("between_levels",),
        kill_switch_at=15.0,
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "lost-answers-pause-soe",
        (F_LOST, F_429, F_LAG),
        ("after_fill",),
        stoploss_on_exchange=True,
        pause=True,
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "lost-answers-5xx-before-tp1",
        (F_LOST, F_5XX_ORDER, F_DROP),
        ("before_tp1", "after_fill"),
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "lost-answers-mixed-soe",
        (F_LOST, F_5XX, F_429, F_REJECT),
        ("between_levels", "random"),
        stoploss_on_exchange=True,
        pairs=LOST_PAIRS,
    ),
    Scenario(
        "mixed-limit-exits",
        (F_SLOW, F_PARTIAL, F_CANCEL, F_418),
        ("tp_resting", "random"),
        limit_exits=True,
    ),
    Scenario(
        "kill-after-stop-placed-soe",
        (F_SLOW_ORDERS,),
        ("stop_placed",),
        stoploss_on_exchange=True,
        kill_switch_at=3.0,
    ),
    Scenario("guard-kill-orphan-stop", (F_5XX,), (), kill_switch_at=10.0, orphan_stop=True),
    # killed after an entry filled and before the bot recorded its trade (its answer
    # slowed): the restart finds an entry no trade records; the watchdog sells it
    Scenario("kill-after-entry-sent", (F_SLOW_ORDERS,), ("entry_sent",), pairs=2),
    Scenario(
        "lost-answers-futures",
        (F_LOST_FUTURES,),
        ("after_fill",),  # a futures bot takes about 30 s to start: one kill
        pairs=LOST_PAIRS,
        futures=True,
    ),
)
