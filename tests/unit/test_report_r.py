"""R of a trade from Freqtrade's export alone, and the report's figures over it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profitguard.engine import R_LADDER, ProtectionConfig
from profitguard.report import analytics as an
from profitguard.report.build import build_report
from profitguard.report.records import ResultError, from_backtest_trade

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def export_trade(
    *,
    entry=100.0,
    stop=98.0,
    amount=1.0,
    exits=((1.0, 104.0, "tp1"),),
    is_short=False,
    fee=0.001,
    stop_at_exit=None,
    max_rate=None,
    min_rate=None,
    pair="BTC/USDT",
    opened=T0,
):
    """One trade as Freqtrade's backtest export writes it."""
    ms = lambda d: int(d.timestamp() * 1000)  # noqa: E731
    orders = [
        {
            "ft_is_entry": True,
            "amount": amount,
            "safe_price": entry,
            "ft_order_tag": "",
            "order_filled_timestamp": ms(opened),
        }
    ]
    for i, (a, p, tag) in enumerate(exits):
        orders.append(
            {
                "ft_is_entry": False,
                "amount": a,
                "safe_price": p,
                "ft_order_tag": tag,
                "order_filled_timestamp": ms(opened + timedelta(minutes=5 * (i + 1))),
            }
        )
    return {
        "pair": pair,
        "is_short": is_short,
        "open_date": opened.isoformat(),
        "open_timestamp": ms(opened),
        "close_timestamp": ms(opened + timedelta(minutes=5 * len(exits))),
        "open_rate": entry,
        "fee_open": fee,
        "fee_close": fee,
        "initial_stop_loss_abs": stop,
        "stop_loss_abs": stop_at_exit if stop_at_exit is not None else stop,
        "exit_reason": exits[-1][2],
        "max_rate": max_rate if max_rate is not None else max(entry, *(p for _, p, _ in exits)),
        "min_rate": min_rate if min_rate is not None else min(entry, *(p for _, p, _ in exits)),
        "orders": orders,
    }


@st.composite
def trades(draw):
    is_short = draw(st.booleans())
    entry = draw(st.floats(1.0, 1e5))
    dist = draw(st.floats(0.001, 0.3)) * entry
    stop = entry + dist if is_short else entry - dist
    amount = draw(st.floats(1e-3, 1e3))
    fee = draw(st.sampled_from([0.0, 0.0005, 0.001, 0.0075]))
    parts = draw(st.lists(st.floats(0.05, 1.0), min_size=1, max_size=4))
    prices = draw(st.lists(st.floats(0.5, 2.0), min_size=len(parts), max_size=len(parts)))
    total = math.fsum(parts)
    exits = [
        (amount * p / total, entry * q, f"tp{i + 1}")
        for i, (p, q) in enumerate(zip(parts, prices, strict=True))
    ]
    return export_trade(
        entry=entry, stop=stop, amount=amount, exits=exits, is_short=is_short, fee=fee
    )


@given(trades())
def test_r_when_any_trade_then_net_profit_over_amount_times_risk(row):
    """R = (exit value - entry value - fees) / (amount x |entry - initial stop|), from the
    export alone."""
    entry = row["open_rate"]
    amount = row["orders"][0]["amount"]
    exit_value = math.fsum(o["amount"] * o["safe_price"] for o in row["orders"][1:])
    entry_value = amount * entry
    sign = -1 if row["is_short"] else 1
    fees = entry_value * row["fee_open"] + exit_value * row["fee_close"]
    expected = (sign * (exit_value - entry_value) - fees) / (
        amount * abs(entry - row["initial_stop_loss_abs"])
    )
    record = from_backtest_trade(row)
    assert record.r == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # every fill's share sums to the trade's R
    assert math.fsum(an.fill_r(record, f) for f in record.exits) == pytest.approx(
        record.r, rel=1e-9, abs=1e-9
    )


@given(trades(), st.floats(0.1, 100))
def test_r_when_amount_scaled_then_unchanged(row, k):
    scaled = dict(row, orders=[dict(o, amount=o["amount"] * k) for o in row["orders"]])
    assert from_backtest_trade(scaled).r == pytest.approx(
        from_backtest_trade(row).r, rel=1e-9, abs=1e-9
    )


@pytest.mark.parametrize("is_short", [False, True])
def test_r_when_stopped_at_the_initial_stop_without_fees_then_minus_one(is_short):
    stop = 102.0 if is_short else 98.0
    row = export_trade(stop=stop, exits=((1.0, stop, "stop_loss"),), is_short=is_short, fee=0.0)
    assert from_backtest_trade(row).r == pytest.approx(-1.0)


@pytest.mark.parametrize("stop", [100.0, 101.0, 0.0])
def test_record_when_initial_stop_not_on_the_losing_side_then_error_names_field(stop):
    with pytest.raises(ResultError, match="initial_stop_loss_abs"):
        from_backtest_trade(export_trade(stop=stop))


def test_report_when_ladder_trades_then_levels_kinds_and_summary():
    rows = [
        # TP1 at 104 (2R), TP2 at 106 (3R), the rest stopped at the 1.5R lock (103)
        export_trade(
            exits=((0.5, 104.0, "tp1"), (0.25, 106.0, "tp2"), (0.25, 103.0, "trailing_stop_loss")),
            stop_at_exit=103.0,
            max_rate=106.5,
            fee=0.0,
        ),
        # stopped at the initial stop
        export_trade(
            exits=((1.0, 98.0, "stop_loss"),),
            stop_at_exit=98.0,
            max_rate=101.0,
            min_rate=97.9,
            fee=0.0,
            opened=T0 + timedelta(days=1),
        ),
        # a gap over TP1 and TP2, then the kill switch
        export_trade(
            exits=((0.75, 106.5, "tp1,tp2"), (0.25, 105.0, "kill_switch")),
            fee=0.0,
            opened=T0 + timedelta(days=2),
        ),
    ]
    report = build_report([from_backtest_trade(r) for r in rows], R_LADDER, source="test")
    rs = [t.r for t in report.trades]
    assert rs == pytest.approx(
        [(0.5 * 4 + 0.25 * 6 + 0.25 * 3) / 2, -1.0, (0.75 * 6.5 + 0.25 * 5) / 2]
    )
    s = report.summary
    assert s.trades == 3 and s.wins == 2
    assert s.expectancy_r == pytest.approx(sum(rs) / 3)
    assert s.profit_factor == pytest.approx((rs[0] + rs[2]) / 1.0)
    levels = {row.level: row for row in report.levels}
    assert levels["tp1"].reached == 2 and levels["tp1"].filled == 2
    assert levels["tp2"].reached == 2 and levels["tp2"].filled == 2
    assert levels["tp3"].filled == 0
    # the gap's fill is shared by fraction: tp1 gets 0.5/0.75 of it
    gap_r = 0.75 * 6.5 / 2
    assert levels["tp1"].contributed_r == pytest.approx(0.5 * 4 / 2 + gap_r * 2 / 3)
    kinds = {k.kind: k for k in report.kinds}
    assert kinds[an.LADDER_STOP].exits == 1
    assert kinds[an.INITIAL_STOP].exits == 1
    assert kinds[an.KILL].exits == 1
    assert kinds["tp1"].avg_slippage_r == pytest.approx(0.0)  # filled at its 2R price
    assert kinds["tp1,tp2"].avg_slippage_r == pytest.approx(0.25)  # 106.5 against TP2's 106
    assert next(label for label, _ in report.distribution) == "<= -1.5R"
    assert sum(n for _, n in report.distribution) == 3
    as_json = report.to_json()
    assert {"pair", "open_date", "r"} <= set(as_json["trades"][0])
    assert as_json["summary"]["expectancy_r"] == pytest.approx(s.expectancy_r)


def test_stop_kind_when_no_trailing_configured_then_never_trailing():
    """The issue's example: a stop rounded up to a coarse tick (110.16 against an
    initial 110.155, more than 0.005 R away) was called 'trailing stop' by price
    matching; the engine's stop at the trade's peak is the initial stop."""
    record = from_backtest_trade(
        export_trade(
            entry=111.0,
            stop=110.155,
            exits=((1.0, 110.16, "trailing_stop_loss"),),
            stop_at_exit=110.16,
            max_rate=111.4,
        )
    )
    plan = an.plan_of(record, R_LADDER)
    assert an.stop_kind(record, plan) == an.INITIAL_STOP
    # moved off every rule's price (float noise): still no trailing without trailing
    noisy = from_backtest_trade(
        export_trade(exits=((1.0, 101.3, "trailing_stop_loss"),), stop_at_exit=101.3)
    )
    assert an.stop_kind(noisy, an.plan_of(noisy, R_LADDER)) != an.TRAILING
    assert an.stop_kind(noisy, None) == an.STOP_MOVED


@pytest.mark.parametrize("is_short", [False, True])
def test_stop_kind_when_peak_passed_a_rule_then_that_rule_names_the_stop(is_short):
    sign = -1.0 if is_short else 1.0

    # 1R = 2; the r_ladder locks breakeven at a 1R peak; a 3% trail beats it at 8R+
    def record(peak, stop_at_exit):
        return from_backtest_trade(
            export_trade(
                entry=100.0,
                stop=100.0 - sign * 2,
                exits=((1.0, stop_at_exit, "trailing_stop_loss"),),
                stop_at_exit=stop_at_exit,
                is_short=is_short,
                max_rate=max(100.0, peak),
                min_rate=min(100.0, peak),
            )
        )

    ladder = record(100.0 + sign * 2.5, 100.0)
    assert an.stop_kind(ladder, an.plan_of(ladder, R_LADDER)) == an.LADDER_STOP
    trailing = ProtectionConfig.from_mapping({"preset": "none", "trail_pct": 0.03})
    far = record(100.0 + sign * 20, 100.0 + sign * 16.0)
    assert an.stop_kind(far, an.plan_of(far, trailing)) == an.TRAILING
    # the replay's rule, when there is one, is the answer
    assert an.stop_kind(far, an.plan_of(far, trailing), "initial") == an.INITIAL_STOP
