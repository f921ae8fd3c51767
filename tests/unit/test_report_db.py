"""`profitguard report --db`: closed trades of a Freqtrade trades database, in R.

The database is written by Freqtrade's own models (in a subprocess: they bind one
global session), as a dry-run bot would leave it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from profitguard.report.records import ResultError, load_db

WRITE_DB = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from freqtrade.persistence import Order, Trade, init_db
    target = sys.argv[1]
    init_db(target if "://" in target else f"sqlite:///{target}")
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    def order(side, amount, price, tag, minutes, oid, status="closed"):
        at = t0 + timedelta(minutes=minutes)
        return Order(ft_order_side=side, ft_pair="BTC/USDT", ft_is_open=False, order_id=oid,
                     status=status, symbol="BTC/USDT", order_type="market", side=side,
                     amount=amount, filled=amount if status == "closed" else 0.0,
                     remaining=0.0, average=price, price=price, order_date=at,
                     order_filled_date=at, ft_order_tag=tag, ft_amount=amount, ft_price=price)
    def trade(is_open, **kw):
        t = Trade(pair="BTC/USDT", base_currency="BTC", stake_currency="USDT", stake_amount=100.0,
                  amount=1.0, open_rate=100.0, fee_open=0.001, fee_close=0.001, open_date=t0,
                  exchange="binance", is_open=is_open, initial_stop_loss=98.0,
                  initial_stop_loss_pct=-0.02, stop_loss=102.0, max_rate=104.5, min_rate=99.5,
                  leverage=1.0, **kw)
        return t
    closed = trade(False, close_date=t0 + timedelta(hours=1), exit_reason="trailing_stop_loss")
    closed.orders = [order("buy", 1.0, 100.0, None, 0, "1"),
                     order("sell", 0.5, 104.0, "tp1", 20, "2"),
                     order("sell", 0.4, 104.5, "tp2", 25, "x", status="canceled"),
                     order("sell", 0.5, 102.0, "trailing_stop_loss", 60, "3")]
    still_open = trade(True)
    still_open.orders = [order("buy", 1.0, 100.0, None, 0, "4")]
    Trade.session.add(closed)
    Trade.session.add(still_open)
    Trade.commit()
    """
)


def test_load_db_when_dry_run_trades_then_closed_ones_in_r_with_fees(tmp_path: Path):
    db = tmp_path / "tradesv3.dryrun.sqlite"
    subprocess.run([sys.executable, "-c", WRITE_DB, str(db)], check=True, timeout=120)
    records = load_db(db)
    assert len(records) == 1  # the open trade is not reported
    (trade,) = records
    assert [f.tag for f in trade.exits] == ["tp1", "trailing_stop_loss"]  # cancelled: no fill
    assert trade.initial_stop == 98.0
    # (0.5 x 4 + 0.5 x 2 - fees 0.1 + 0.103) / (1 x 2)
    assert trade.r == pytest.approx((3.0 - 0.1 - 0.103) / 2.0)


def test_load_db_when_no_file_then_error_names_it(tmp_path: Path):
    with pytest.raises(ResultError, match="no such database"):
        load_db(tmp_path / "missing.sqlite")
