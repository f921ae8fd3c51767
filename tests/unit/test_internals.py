"""The reaches into Freqtrade's internals (`profitguard.freqtrade.internals`): each is
still there in the installed Freqtrade (the contract), and without it the feature is
off with one warning (the fallback)."""

from __future__ import annotations

import inspect
import logging
from types import SimpleNamespace

import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.persistence import Trade

from profitguard.freqtrade import internals


@pytest.fixture(autouse=True)
def fresh_warnings():
    internals._warn_once.cache_clear()
    yield
    internals._warn_once.cache_clear()


def test_contract_when_freqtrade_installed_then_dataprovider_holds_its_exchange():
    exchange = object()
    dp = DataProvider({"runmode": "backtest"}, exchange)
    assert internals.exchange_of(dp, "x") is exchange


def test_contract_when_freqtrade_restarts_then_a_trailed_stop_is_kept():
    source = inspect.getsource(Trade.stoploss_reinitialization)
    assert "if not trade.is_stop_loss_trailing" in source
    assert "is_stop_loss_trailing" in {c.key for c in Trade.__table__.columns}


def test_exchange_of_when_attribute_gone_then_none_and_one_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert internals.exchange_of(SimpleNamespace(), "the liquidation check") is None
        assert internals.exchange_of(SimpleNamespace(), "the liquidation check") is None
    assert [r.getMessage() for r in caplog.records] == [
        "profitguard: Freqtrade's DataProvider._exchange is not there: the liquidation "
        "check is off (this Freqtrade release changed it)"
    ]
    assert internals.exchange_of(None, "x") is None  # no data provider: nothing to say


def test_keep_stop_when_mark_there_then_set_else_one_warning(caplog):
    trade = SimpleNamespace(is_stop_loss_trailing=False)
    assert internals.keep_stop_across_restart(trade) and trade.is_stop_loss_trailing
    with caplog.at_level(logging.WARNING):
        assert not internals.keep_stop_across_restart(SimpleNamespace())
        assert not internals.keep_stop_across_restart(SimpleNamespace())
    assert len(caplog.records) == 1 and "Trade.is_stop_loss_trailing" in caplog.text


def test_contract_when_backtesting_then_its_price_tick_is_get_tick_size_over_time():
    import pandas as pd
    from freqtrade.optimize.backtesting import Backtesting

    assert "get_tick_size_over_time" in inspect.getsource(Backtesting)
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2024-01-01", periods=2, freq="5min", tz="UTC"),
            **{c: [104.2047, 104.21] for c in ("open", "high", "low", "close")},
        }
    )
    from freqtrade.data.btanalysis.historic_precision import get_tick_size_over_time

    series = internals.backtest_tick_series(frame)
    # what the backtest itself rounds to, whatever this release computes (2026.9 reads
    # 1e-4 from these prices, 2026.1 a far finer tick): never coarser than the data's
    assert series.iloc[0] == get_tick_size_over_time(frame.copy()).iloc[0]
    assert 0 < series.iloc[0] <= 1e-4


def test_backtest_tick_series_when_function_gone_then_none_and_one_warning(caplog, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "freqtrade.data.btanalysis.historic_precision", None)
    with caplog.at_level(logging.WARNING):
        assert internals.backtest_tick_series(None) is None
        assert internals.backtest_tick_series(None) is None
    assert len([r for r in caplog.records if "get_tick_size_over_time" in r.message]) == 1


def test_contract_when_freqtrade_installed_then_exchange_refreshes_candles_without_cache():
    from freqtrade.exchange import Exchange

    parameters = inspect.signature(Exchange.refresh_latest_ohlcv).parameters
    assert {"pair_list", "since_ms", "cache", "drop_incomplete"} <= set(parameters)
    assert all(parameters[k].kind is inspect.Parameter.KEYWORD_ONLY
               for k in ("since_ms", "cache", "drop_incomplete"))  # fmt: skip


def test_refresh_ohlcv_when_called_then_no_cache_and_the_forming_candle_dropped():
    calls = []

    def refresh(pairs, **kwargs):
        calls.append((pairs, kwargs))
        return {"x": 1}

    exchange = SimpleNamespace(refresh_latest_ohlcv=refresh)
    pairs = [("RST/USDT", "1s", "spot")]
    assert internals.refresh_ohlcv(exchange, pairs, since_ms=5) == {"x": 1}
    assert calls == [(pairs, {"since_ms": 5, "cache": False, "drop_incomplete": True})]


def test_refresh_ohlcv_when_method_gone_or_changed_then_none_and_one_warning(caplog):
    def changed(pairs):  # takes none of the keywords
        return {}

    with caplog.at_level(logging.WARNING):
        assert internals.refresh_ohlcv(SimpleNamespace(), [], since_ms=0) is None
        assert internals.refresh_ohlcv(SimpleNamespace(), [], since_ms=0) is None
        changed_exchange = SimpleNamespace(refresh_latest_ohlcv=changed)
        assert internals.refresh_ohlcv(changed_exchange, [], since_ms=0) is None
    assert len(caplog.records) == 1
    assert "Exchange.refresh_latest_ohlcv is not there: seeing the prices of a blocked loop" in (
        caplog.text
    )
