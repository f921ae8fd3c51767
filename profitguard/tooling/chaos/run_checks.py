"""What must hold after a live run, whatever faults and kills it went through.

Pure functions of a ``RunRecord`` (the ledger, the bot's database, what the runner
saw of each bot process); each returns the violations it found, as data. The
ledger is the truth for amounts; the bot's records give tags and stops.
"""

from __future__ import annotations

import json
import re

from profitguard.tooling.chaos.run_record import (
    EPS,
    Life,
    RunRecord,
    Violation,
    bought_net,
    position_at,
)
from profitguard.tooling.chaos.stop_checks import flat_after_kill_switch, one_stop_per_trade

__all__ = ["Life", "RunRecord", "Violation", "check_run"]

# Time the bot needs to act on a price once it is up: a loop (1 s) plus Freqtrade's
# own retries of a failed request (2 s, then 5 s).
LEVEL_GRACE_S = 12.0
# How long a level's price must hold while the bot runs for it to count as reached.
LEVEL_HOLD_S = 3.0
# Findings that are not violations: a level the exchange refused, with the reason in
# the bot's log ("skipped with a logged reason"); listed under the run, not counted.
NOTES = ("level_refused",)
# The bot's log lines that report a profitguard order the database lacks, and the
# watchdog's close of an untracked holding (`freqtrade.reconciler`), by client id.
_REPORTED = re.compile(
    r"profitguard: (?:reconciliation: orphan_fill|watchdog): .*? order (pg-[^:\s]+)"
)
# the tag of the watchdog's close of an untracked holding (`freqtrade.reconcile.CLOSE_TAG`)
CLOSE_TAG = "untracked"


def _tags(order: dict) -> list[str]:
    return [t for t in (order.get("tag") or "").split(",") if t]


def _filled_sells(record: RunRecord, trade_id: int) -> list[dict]:
    return [
        o
        for o in record.tagged
        if o["trade_id"] == trade_id and o["side"] == "sell" and o["filled"] > 0
    ]


def no_over_close(record: RunRecord) -> list[Violation]:
    """Never more sold than bought: per market on the ledger, and per trade."""
    out = []
    pairs = {f["pair"] for f in record.ledger["fills"]}
    for pair in sorted(pairs):
        base = pair.split("/")[0]
        fills = [f for f in record.ledger["fills"] if f["pair"] == pair]
        bought = bought_net(fills, base)
        sold = sum(f["amount"] for f in fills if f["side"] == "SELL")
        if sold > bought + EPS:
            out.append(Violation("over_close", f"{pair}: sold {sold:g} > bought {bought:g}"))
    for trade in record.trades:
        mine = [o for o in record.tagged if o["trade_id"] == trade["id"]]
        base = trade["pair"].split("/")[0]
        fills = [f for o in mine for f in o["fills"]]
        bought = bought_net(fills, base)
        sold = sum(f["amount"] for f in fills if f["side"] == "SELL")
        if sold > bought + EPS:
            out.append(
                Violation("over_close", f"trade {trade['id']}: sold {sold:g} > bought {bought:g}")
            )
    return out


def levels_once(record: RunRecord) -> list[Violation]:
    """No take-profit level executed twice on one trade."""
    out = []
    for trade in record.trades:
        seen: dict[str, int] = {}
        for order in _filled_sells(record, trade["id"]):
            for tag in _tags(order):
                if tag.startswith("tp"):
                    seen[tag] = seen.get(tag, 0) + 1
        out += [
            Violation("level_repeated", f"trade {trade['id']}: {tag} filled {n} times")
            for tag, n in sorted(seen.items())
            if n > 1
        ]
    return out


def levels_not_overfilled(record: RunRecord) -> list[Violation]:
    """After a take-profit below the last level, the trade has closed no more than the
    ladder's share up to that level (an untagged exit counts: amounts, not tags)."""
    out = []
    for trade in record.trades:
        mine = [o for o in record.tagged if o["trade_id"] == trade["id"]]
        bought = bought_net([f for o in mine for f in o["fills"]], trade["pair"].split("/")[0])
        sells = sorted(
            _filled_sells(record, trade["id"]), key=lambda o: min(f["time"] for f in o["fills"])
        )
        closed = 0.0
        for order in sells:
            closed += order["filled"]
            levels = [int(t[2:]) for t in _tags(order) if t.startswith("tp") and t[2:].isdigit()]
            if not levels or max(levels) >= len(record.tp_fractions):
                continue
            allowed = sum(record.tp_fractions[: max(levels)]) * bought + 2 * record.step
            if closed > allowed + EPS:
                out.append(
                    Violation(
                        "level_repeated",
                        f"trade {trade['id']}: {closed:g} of {bought:g} closed by "
                        f"tp{max(levels)}, its ladder share is {allowed - 2 * record.step:g}",
                    )
                )
    return out


def _state(record: RunRecord, trade_id: int) -> dict | None:
    for row in record.custom:
        if row["ft_trade_id"] == trade_id and row["cd_key"] == "profitguard":
            try:
                return json.loads(row["cd_value"])
            except ValueError:
                return None
    return None


def _alive(record: RunRecord) -> list[tuple[float, float]]:
    return [(life.back, life.ended) for life in record.lives if life.back is not None]


def _first_hold(
    record: RunRecord, pair: str, level: float, start: float, stop: float
) -> float | None:
    """The first time in [start, stop) at which the price stays at or above ``level``
    for ``LEVEL_HOLD_S`` while the bot runs, or None."""
    for lo, hi in _alive(record):
        lo, hi = max(lo, start), min(hi, stop)
        t, since = lo, None
        while t < hi:
            if record.price(pair, t) >= level:
                since = t if since is None else since
                if t - since >= LEVEL_HOLD_S:
                    return since
            else:
                since = None
            t += 0.25
    return None


def _ts(value) -> float:
    from datetime import UTC, datetime

    if value is None:
        return float("inf")
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def levels_not_lost(record: RunRecord) -> list[Violation]:
    """Every level the price reached while the bot ran and held the trade was taken,
    skipped (recorded), or overtaken by an exit of all that remained soon after."""
    out = []
    for trade in record.trades:
        state = _state(record, trade["id"])
        if state is None:
            continue
        entry, initial = trade["open_rate"], state["initial_stop"]
        risk = entry - initial
        if not risk > 0:
            continue
        sells = _filled_sells(record, trade["id"])
        taken = {tag for o in sells for tag in _tags(o)}
        last_exit = max((f["time"] / 1000 for o in sells for f in o["fills"]), default=None)
        closed_at = _ts(trade["close_date"]) if not trade["is_open"] else record.end
        opened = _ts(trade["open_date"])
        for k, level_r in enumerate(record.levels_r, start=1):
            tag = f"tp{k}"
            if tag in taken or state.get("skipped", 0) >= k:
                continue
            reached = _first_hold(record, trade["pair"], entry + level_r * risk, opened, closed_at)
            if reached is None:
                continue
            if (
                not trade["is_open"]
                and last_exit is not None
                and last_exit <= reached + (LEVEL_GRACE_S)
            ):
                continue  # everything was gone before the bot could act on it
            if trade["is_open"] and record.end - reached < LEVEL_GRACE_S:
                continue  # reached just before the run ended
            refused = [
                t for life in record.lives for t in life.refusals if reached <= t <= closed_at
            ]
            if refused:
                out.append(
                    Violation(
                        "level_refused",
                        f"trade {trade['id']}: {tag} not executed: the exchange refused its "
                        f"exit order {len(refused)} time(s), logged by the bot from "
                        f"+{refused[0] - record.lives[0].started:.1f}s",
                    )
                )
                continue
            out.append(
                Violation(
                    "level_lost",
                    f"trade {trade['id']}: {tag} ({entry + level_r * risk:.4g}) reached at "
                    f"+{reached - record.lives[0].started:.1f}s, never executed",
                )
            )
    return out


def _stop_samples(record: RunRecord, trade_id: int, start: float, stop: float) -> list[float]:
    return [
        s[trade_id][1]
        for t, s in record.samples
        if start <= t < stop and trade_id in s and s[trade_id][0] and s[trade_id][1]
    ]


def stop_never_looser_after_restart(record: RunRecord) -> list[Violation]:
    """The stop in force after a restart is never looser than before it (long)."""
    out = []
    for before, after in zip(record.lives, record.lives[1:], strict=False):
        if not before.killed or after.back is None:
            continue
        for trade_id, stop in before.stops_at_end.items():
            later = _stop_samples(record, trade_id, after.back, after.ended)
            if later and min(later) < stop - EPS:
                out.append(
                    Violation(
                        "stop_loosened",
                        f"trade {trade_id}: stop {stop:g} before the kill at "
                        f"+{before.ended - record.lives[0].started:.1f}s, {min(later):g} after",
                    )
                )
        if record.stoploss_on_exchange:
            out += _exchange_stop_not_lower(record, before, after)
    return out


def _exchange_stop_not_lower(record: RunRecord, before: Life, after: Life) -> list[Violation]:
    """The stops of a trade placed after the restart sit at or above the one that
    rested on the exchange when the bot was killed."""
    out = []
    stops = [o for o in record.tagged if o["type"] == "STOP_LOSS_LIMIT"]
    resting = [
        o
        for o in stops
        if o["trade_id"] is not None
        and o["time"] / 1000 <= before.ended
        and (o["status"] in ("NEW", "PARTIALLY_FILLED") or o["update_time"] / 1000 > before.ended)
    ]
    for old in resting:
        newer = [
            o
            for o in stops
            if o["trade_id"] == old["trade_id"] and o["time"] / 1000 > after.started
        ]
        lower = [o for o in newer if o["stop_price"] < old["stop_price"] - EPS]
        if lower:
            out.append(
                Violation(
                    "stop_loosened",
                    f"trade {old['trade_id']}: exchange stop {old['stop_price']:g} resting at "
                    f"the kill, replaced by {lower[0]['stop_price']:g} after the restart",
                )
            )
    return out


def _held_by_trade(record: RunRecord, trade: dict, at: float) -> float:
    """What the trade holds at ``at`` by the ledger: the pair's position then, less what
    was there before its first fill (dust earlier trades left behind)."""
    fills = [
        f["time"] / 1000
        for o in record.tagged
        if o["trade_id"] == trade["id"] and o["side"] == "buy"
        for f in o["fills"]
    ]
    if not fills or min(fills) > at:
        return 0.0
    return position_at(record, trade["pair"], at) - position_at(
        record, trade["pair"], min(fills) - 1e-3
    )


def protected_after_restart(record: RunRecord) -> list[Violation]:
    """With the stop on the exchange, a position held across a restart has a resting
    stop again one bot loop after the bot is back (a trade the new process opened
    gets its stop as any new trade does, the loop after its entry fills)."""
    if not record.stoploss_on_exchange:
        return []
    out = []
    orders = record.ledger["orders"]
    for life in record.lives[1:]:
        at = life.settled
        if at is None:
            continue
        for trade in record.trades:
            if not _ts(trade["open_date"]) <= at < _ts(trade["close_date"]):
                continue
            if _ts(trade["open_date"]) >= life.started:
                continue  # opened by this process, not held across the restart
            pair = trade["pair"]
            held = _held_by_trade(record, trade, at)
            if held < record.step - EPS:
                continue
            resting = any(
                o["type"] == "STOP_LOSS_LIMIT"
                and o["pair"] == pair
                and o["time"] / 1000 <= at
                and (o["status"] in ("NEW", "PARTIALLY_FILLED") or o["update_time"] / 1000 > at)
                for o in orders
            )
            exiting = any(
                o["side"] == "sell"
                and o["type"] != "STOP_LOSS_LIMIT"
                and o["pair"] == pair
                and at - 3 <= o["time"] / 1000 <= at + 3
                for o in orders
            )
            if not resting and not exiting:
                out.append(
                    Violation(
                        "unprotected",
                        f"trade {trade['id']}: {held:g} {pair} held without a resting stop one "
                        f"loop after the restart at +{life.started - record.lives[0].started:.1f}s",
                    )
                )
    return out


def gate_state_survives(record: RunRecord) -> list[Violation]:
    """A pause set before a kill is still in force after the restart: the guard file
    says so and no entry is placed after it."""
    if record.paused_at is None:
        return []
    out = []
    if record.guard_paused_after is not True:
        out.append(Violation("gate_state_lost", "the guard file no longer says paused"))
    late = [
        o
        for o in record.ledger["orders"]
        if o["side"] == "buy" and o["time"] / 1000 > record.paused_at + LEVEL_GRACE_S
    ]
    if late:
        out.append(
            Violation(
                "gate_state_lost",
                f"{len(late)} entry order(s) after the pause "
                f"(first at +{late[0]['time'] / 1000 - record.paused_at:.1f}s)",
            )
        )
    return out


def _signed(fill: dict, base: str) -> float:
    """What a fill added to the account's holding of the pair: + bought (net of a base
    fee), - sold; in futures the signed position change (a reduce-only sell of a long
    is -, a buy that opens a short's cover is +)."""
    if fill["side"] == "BUY":
        return fill["amount"] - (fill["fee"] if fill.get("fee_asset") == base else 0.0)
    return -fill["amount"]


def _ours(order: dict) -> bool:
    return order.get("client_tag") is not None


def _held_at_end(record: RunRecord, pair: str) -> float:
    """The account's holding of the pair when the run ended: the futures position
    (signed), or the spot fills' net (the account started without the base asset)."""
    positions = (record.ledger.get("futures") or {}).get("positions") or {}
    if pair in positions:
        return float(positions[pair].get("amount") or 0.0)
    base = pair.split("/")[0]
    return sum(_signed(f, base) for f in record.ledger["fills"] if f["pair"] == pair)


def _direction(trade: dict) -> int:
    return -1 if trade.get("is_short") else 1


def reported_ids(log_text: str) -> list[str]:
    """The client ids the bot's log reports as orphans or as the watchdog's closes."""
    return [m.group(1) for m in _REPORTED.finditer(log_text)]


def _trade_named(order: dict, trade_ids: set[int]) -> bool:
    """Its client id names one of the database's trades (`pg-<id>-...`)."""
    parts = str(order.get("client_order_id") or "").split("-")
    return len(parts) > 2 and parts[1].isdigit() and int(parts[1]) in trade_ids


def _unowned_left(record: RunRecord, pair: str) -> float:
    """What profitguard's orders that no trade records or names still hold of `pair`
    when the run ends (orphan entries less the watchdog's closes of them), + long."""
    base = pair.split("/")[0]
    trade_ids = {t["id"] for t in record.trades}
    return sum(
        _signed(f, base)
        for o in record.tagged
        if o["pair"] == pair and _ours(o) and o["trade_id"] is None
        and not _trade_named(o, trade_ids)
        for f in o["fills"]
    )  # fmt: skip


def orphan_fill(record: RunRecord) -> list[Violation]:
    """Every filled order that carries profitguard's client id is known to the bot's
    database when the run ends (its answer lost or not: found by its id, adopted), with
    one way out for an order no trade can take (an entry whose trade was never written,
    the bot killed before it could): the bot reported it, and what it bought was
    closed by the watchdog (nothing of the pair's unrecorded orders is left beyond
    dust). The watchdog's closes themselves are not in the database: each must be
    reported in the bot's log."""
    reported = {cid for life in record.lives for cid in life.reported}
    trade_ids = {t["id"] for t in record.trades}
    out = []
    for o in record.tagged:
        if not (_ours(o) and o["filled"] > 0 and o["trade_id"] is None):
            continue
        cid = o["client_order_id"]
        if o["client_tag"] == CLOSE_TAG:
            if cid not in reported:
                out.append(Violation("orphan_fill", f"{o['pair']} {o['side']} {cid}: a close "
                                     "of an untracked holding the bot never reported"))  # fmt: skip
            continue
        left = _unowned_left(record, o["pair"])
        if cid in reported and not _trade_named(o, trade_ids) and abs(left) <= record.dust + EPS:
            continue  # reported, and closed by the watchdog
        why = "never reported" if cid not in reported else f"{left:g} of the pair left"
        out.append(
            Violation(
                "orphan_fill",
                f"{o['pair']} {o['side']} {cid}: {o['filled']:g} filled, unknown to the "
                f"database ({why})",
            )
        )
    return out


def _held_by_own_orders(record: RunRecord, trade: dict) -> float:
    """What the trade's own orders (the bot's records, or profitguard's ids naming it)
    bought less what they sold, on the ledger, in the trade's direction."""
    base = trade["pair"].split("/")[0]
    named = f"pg-{trade['id']}-"
    fills = [
        f
        for o in record.tagged
        if o["trade_id"] == trade["id"]
        or (o["trade_id"] is None and str(o.get("client_order_id")).startswith(named))
        for f in o["fills"]
    ]
    return sum(_signed(f, base) for f in fills) * _direction(trade)


def closed_but_held(record: RunRecord) -> list[Violation]:
    """A trade the database has closed holds nothing on the exchange: its own orders
    (the bot's records, or profitguard's ids naming it) sold what they bought."""
    out = []
    for trade in record.trades:
        if trade["is_open"]:
            continue
        base = trade["pair"].split("/")[0]
        held = _held_by_own_orders(record, trade)
        if held > record.dust + EPS:
            out.append(
                Violation(
                    "closed_but_held",
                    f"trade {trade['id']}: closed ({trade.get('exit_reason')}) while "
                    f"{held:g} {base} of it is still held",
                )
            )
    return out


def untracked_holding(record: RunRecord) -> list[Violation]:
    """When the run ends the account holds no more of a pair than its open trades,
    beyond dust; only what profitguard's own fills explain counts (a holding the
    account had otherwise is not profitguard's)."""
    out = []
    for pair in sorted({f["pair"] for f in record.ledger["fills"]}):
        base = pair.split("/")[0]
        held = _held_at_end(record, pair)
        ours = sum(
            _signed(f, base) for o in record.tagged if o["pair"] == pair and _ours(o)
            for f in o["fills"]
        )  # fmt: skip
        # an open trade holds its recorded amount, or what its own orders hold on the
        # ledger when more (a fill the bot had not processed yet when the run ended)
        tracked = sum(
            max(t["amount"], _held_by_own_orders(record, t)) * _direction(t)
            for t in record.trades
            if t["pair"] == pair and t["is_open"]
        )
        for direction in (1, -1):
            if held * direction <= 0 or ours * direction <= 0:
                continue
            extra = min(held * direction, ours * direction) - tracked * direction
            if extra > record.dust + EPS:
                out.append(
                    Violation(
                        "untracked_holding",
                        f"{pair}: {held * direction:g} {base} held, open trades "
                        f"{tracked * direction:g}: {extra:g} under no trade",
                    )
                )
    return out


def futures_exits_reduce_only(record: RunRecord) -> list[Violation]:
    """Futures: every filled exit of a trade (and every close of an untracked holding)
    is reduce-only, and the pair's position, fill by fill, never turns against the
    side of its trades (an exit larger than the position would open one the other way)."""
    out = []
    futures = [o for o in record.tagged if o.get("market") == "futures"]
    for pair in sorted({o["pair"] for o in futures}):
        directions = {_direction(t) for t in record.trades if t["pair"] == pair}
        mine = [o for o in futures if o["pair"] == pair]
        if len(directions) == 1:
            (direction,) = directions
            exit_side = "sell" if direction > 0 else "buy"
            for o in mine:
                exits = o["side"] == exit_side and (o["trade_id"] is not None or _ours(o))
                if exits and o["filled"] > 0 and not o.get("reduce_only"):
                    out.append(Violation("not_reduce_only", f"{pair} {o['side']} "
                                         f"{o['client_order_id']}: an exit that is not "
                                         "reduce-only"))  # fmt: skip
            running = 0.0
            fills = sorted((f for o in mine for f in o["fills"]), key=lambda f: f["time"])
            for f in fills:
                running += _signed(f, pair.split("/")[0])
                if running * direction < -EPS:
                    out.append(Violation("position_flipped", f"{pair}: position {running:g} "
                                         f"after the fill at {f['time']}"))  # fmt: skip
                    break
    return out


CHECKS = (
    no_over_close,
    levels_once,
    levels_not_overfilled,
    levels_not_lost,
    stop_never_looser_after_restart,
    protected_after_restart,
    gate_state_survives,
    orphan_fill,
    untracked_holding,
    closed_but_held,
    futures_exits_reduce_only,
    one_stop_per_trade,
    flat_after_kill_switch,
)


def check_run(record: RunRecord) -> tuple[list[Violation], list[Violation]]:
    """(violations, notes): every check's findings, the notes (``NOTES``) apart."""
    found = [v for check in CHECKS for v in check(record)]
    return [v for v in found if v.check not in NOTES], [v for v in found if v.check in NOTES]
