"""What the exchange did under profitguard's client ids against what the trades record.

Pure: values in, findings out (`reconcile`). The adapter (`reconciler.Reconciler`)
reads the exchange and the trades database, and acts on the findings. Amounts are
in the base currency (contracts' base amount in futures); a signed amount is
positive for a long holding.

Findings:
- `orphan_fill`: a filled order carrying one of profitguard's client ids that no
  trade records (its answer was lost, and no lookup found it in time);
- `closed_but_held`: a trade the database has closed whose own orders on the
  exchange bought more than they sold, beyond dust;
- `untracked_holding`: the pair's holding beyond its open trades, as much of it as
  profitguard's own fills explain (a holding profitguard did not buy is the user's:
  never counted, never sold);
- `over_held`: an open trade whose recorded amount is more than the exchange holds
  for it (the adapter caps it at the holding).

What may be closed at market (`untracked_closes`, when the watchdog's action is
"exit"): the untracked holding of a pair, as much of it as profitguard's own fills
that no open trade holds explain (a closed trade's remainder, then the fills no
trade records), never more, and nothing while an earlier close of the pair is open.
Such a close carries the tag `untracked` (`CLOSE_TAG`) in its client id: it is the
answer to a finding, not an orphan itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import floor

_OUR_ID = re.compile(r"^pg-(\d+|new)-(.+)-(\d+)$")
KINDS = ("orphan_fill", "closed_but_held", "untracked_holding", "over_held")
# the tag of the market order that closes an untracked holding (`pg-<trade>-untracked-<n>`
# for a closed trade's remainder, `pg-new-untracked-<ms>` for fills no trade records)
CLOSE_TAG = "untracked"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeOrder:
    """One order as the exchange reports it; `filled` in base, `fee_base` the part
    of the fee charged in the base currency (a spot buy's)."""

    order_id: str
    client_id: str | None
    pair: str
    side: str  # "buy" / "sell"
    filled: float
    fee_base: float = 0.0
    is_open: bool = False  # still working on the exchange (more may fill)

    @property
    def ours(self) -> bool:
        return _OUR_ID.match(self.client_id or "") is not None

    @property
    def closes_untracked(self) -> bool:
        """A close of an untracked holding that profitguard sent (`CLOSE_TAG`)."""
        match = _OUR_ID.match(self.client_id or "")
        return match is not None and match.group(2) == CLOSE_TAG

    @property
    def trade_named(self) -> int | None:
        """The trade id the client id names (None for an entry's `pg-new-...`)."""
        match = _OUR_ID.match(self.client_id or "")
        return int(match.group(1)) if match and match.group(1) != "new" else None

    @property
    def signed(self) -> float:
        """What it added to the holding: + bought (after a base fee), - sold."""
        return self.filled - self.fee_base if self.side == "buy" else -self.filled


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeRecord:
    """A trade as the database has it: its orders' exchange ids and its amount."""

    trade_id: int
    pair: str
    is_open: bool
    is_short: bool
    amount: float
    order_ids: frozenset[str]

    @property
    def direction(self) -> int:
        return -1 if self.is_short else 1


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    pair: str
    amount: float
    trade_id: int | None = None
    client_id: str | None = None

    def __str__(self) -> str:
        where = f"trade {self.trade_id}" if self.trade_id is not None else self.pair
        order = f" order {self.client_id}" if self.client_id else ""
        return f"{self.kind}: {where}{order}: {self.amount:.8g} {self.pair.split('/')[0]}"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    findings: tuple[Finding, ...] = ()
    untracked: Mapping[str, float] = field(default_factory=dict)  # pair -> base amount

    def of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]


def _held_by(trade: TradeRecord, orders: Iterable[ExchangeOrder]) -> float:
    """What the trade's own orders left on the account, in its direction."""
    net = sum(
        o.signed
        for o in orders
        if o.order_id in trade.order_ids or (o.ours and o.trade_named == trade.trade_id)
    )
    return net * trade.direction


def reconcile(
    orders: Iterable[ExchangeOrder],
    trades: Iterable[TradeRecord],
    holdings: Mapping[str, float],
    dust: Mapping[str, float],
) -> Reconciliation:
    """Findings for every pair in `holdings` (signed: + long) from the exchange's
    `orders` since the first trade and the database's `trades`; `dust[pair]`: an
    amount below which nothing is reported (the pair's minimum order amount)."""
    orders, trades = list(orders), list(trades)
    known = {oid for t in trades for oid in t.order_ids}
    findings: list[Finding] = []
    for order in orders:
        if (
            order.ours
            and order.filled > 0
            and order.order_id not in known
            and not order.closes_untracked
        ):
            findings.append(
                Finding("orphan_fill", order.pair, order.filled, order.trade_named, order.client_id)
            )
    untracked: dict[str, float] = {}
    for pair, held in sorted(holdings.items()):
        small = dust.get(pair, 0.0)
        mine = [t for t in trades if t.pair == pair]
        for trade in mine:
            by_orders = _held_by(trade, orders)
            if not trade.is_open and by_orders > small:
                findings.append(Finding("closed_but_held", pair, by_orders, trade.trade_id))
            elif trade.is_open and trade.amount > held * trade.direction + small:
                over = trade.amount - held * trade.direction
                findings.append(Finding("over_held", pair, over, trade.trade_id))
        ours = sum(o.signed for o in orders if o.pair == pair and o.ours)
        # an open trade holds its amount, or more when its own orders filled more (a
        # fill Freqtrade has not processed yet)
        for direction in (1, -1):
            if held * direction <= 0 or ours * direction <= 0:
                continue  # nothing held that way, or profitguard bought none of it
            tracked = sum(
                max(t.amount, _held_by(t, orders))
                for t in mine
                if t.is_open and t.direction == direction
            )
            extra = min(held * direction, ours * direction) - tracked
            if extra > small:
                untracked[pair] = extra * direction
                findings.append(Finding("untracked_holding", pair, extra))
    return Reconciliation(tuple(findings), untracked)


@dataclass(frozen=True, slots=True)
class Close:
    """A market order that closes `amount` (base, > 0) of `pair`'s untracked holding:
    `side` "sell" for a long holding, "buy" (reduce-only) for a short; `trade_id` the
    closed trade whose remainder it is, None for fills no trade records."""

    pair: str
    side: str
    amount: float
    trade_id: int | None = None


def _floor(amount: float, step: float) -> float:
    if step <= 0:
        return amount
    return floor(amount / step + 1e-9) * step


def unowned(orders: Iterable[ExchangeOrder], trades: Iterable[TradeRecord], pair: str) -> float:
    """Signed net of profitguard's own fills of `pair` that no trade records or names
    (orphan entries, and the closes that sold them): + long."""
    trades = list(trades)
    known = {oid for t in trades for oid in t.order_ids}
    ids = {t.trade_id for t in trades}
    return sum(
        o.signed
        for o in orders
        if o.pair == pair
        and o.ours
        and o.order_id not in known
        and (o.trade_named is None or o.trade_named not in ids)
    )


def untracked_closes(
    orders: Iterable[ExchangeOrder],
    trades: Iterable[TradeRecord],
    result: Reconciliation,
    steps: Mapping[str, float],
    dust: Mapping[str, float],
) -> list[Close]:
    """What to close at market of each pair's untracked holding (`result.untracked`):
    first the remainders of closed trades (`closed_but_held`), then the fills no trade
    records, each no more than profitguard's own fills left of it, all together no more
    than the untracked amount; each rounded down to the pair's amount step `steps[pair]`
    and left alone below `dust[pair]`. No close of a pair while an earlier one is open."""
    orders, trades = list(orders), list(trades)
    closes: list[Close] = []
    for pair, signed in sorted(result.untracked.items()):
        if any(o.pair == pair and o.closes_untracked and o.is_open for o in orders):
            continue  # an earlier close is still working: its fill is not counted yet
        direction = 1 if signed > 0 else -1
        side = "sell" if direction > 0 else "buy"
        left = abs(signed)
        sources: list[tuple[int | None, float]] = []
        by_id = {t.trade_id: t for t in trades}
        for finding in result.of("closed_but_held"):
            trade = by_id.get(finding.trade_id) if finding.trade_id is not None else None
            if finding.pair == pair and trade is not None and trade.direction == direction:
                sources.append((finding.trade_id, finding.amount))
        sources.append((None, unowned(orders, trades, pair) * direction))
        for trade_id, own in sources:
            amount = _floor(min(left, own), steps.get(pair, 0.0))
            if amount <= 0 or amount < dust.get(pair, 0.0):
                continue
            closes.append(Close(pair, side, amount, trade_id))
            left -= amount
    return closes
