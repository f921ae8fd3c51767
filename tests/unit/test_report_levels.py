"""Exits by level, over Freqtrade result trades."""

import pytest

from profitguard.report.levels import exits_by_level, render


def trade(entry, exits, is_short=False):
    orders = [{"ft_is_entry": True, "amount": sum(a for a, _, _ in exits), "safe_price": entry}]
    orders += [
        {"ft_is_entry": False, "amount": a, "safe_price": p, "ft_order_tag": t} for a, p, t in exits
    ]
    return {"open_rate": entry, "is_short": is_short, "orders": orders}


def test_exits_by_level_when_partials_and_stops_then_one_row_per_label_tp_first():
    rows = exits_by_level(
        [
            trade(100, [(5, 104, "tp1"), (5, 102, "trailing_stop_loss")]),
            trade(100, [(7.5, 106, "tp1,tp2"), (2.5, 103, "stop_loss")]),
            trade(100, [(10, 90, "stop")], is_short=True),  # a short's +10%
        ]
    )
    assert [r.exit for r in rows] == ["tp1", "tp1,tp2", "stop"]
    assert [r.orders for r in rows] == [1, 1, 3]
    stop = rows[2]
    assert stop.profit == pytest.approx(5 * 2 + 2.5 * 3 + 10 * 10)
    assert stop.avg_move == pytest.approx((0.02 + 0.03 + 0.10) / 3)
    assert sum(r.share_of_amount for r in rows) == pytest.approx(1.0)
    assert "tp1,tp2" in render(rows, "USDT")
