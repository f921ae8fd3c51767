"""Tags as client order ids: the ids, the expected orders, the wrapper, the strategy's part.

The wrapper is exercised on a stand-in of ccxt's `create_order` (same signature);
tests/integration/test_client_ids_contract.py runs it on Freqtrade's and ccxt's own.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta

import pytest
from freqtrade.data.dataprovider import DataProvider
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from hypothesis import given
from hypothesis import strategies as st

from profitguard.freqtrade.client_ids import (
    VALID_ID,
    ClientIdHookMissing,
    ClientOrderIds,
    entry_client_id,
    exit_client_id,
    install,
    tag_of,
)
from tests.unit.test_adapter_strategy import (  # custom data in memory, as that module's tests
    Fixture,
    adjust,
    in_memory_custom_data,  # noqa: F401
    started,
    stop_of,
)
from tests.unit.test_adapter_trades import OPENED, make_trade


class FakeApi:
    """ccxt's `create_order` signature; records what it was asked to send."""

    def __init__(self, exchange_id: str = "binance") -> None:
        self.id = exchange_id  # ccxt's exchange id
        self.sent: list[dict] = []

    def create_order(self, symbol, type, side, amount, price=None, params={}):  # noqa: B006
        self.sent.append({"symbol": symbol, "type": type, "side": side, "params": dict(params)})
        return {"id": str(len(self.sent)), "clientOrderId": params.get("clientOrderId")}


class FakeExchange:
    def __init__(self, api=None) -> None:
        self._api = api if api is not None else FakeApi()


def wrapped() -> tuple[FakeApi, ClientOrderIds]:
    exchange, ids = FakeExchange(), ClientOrderIds()
    api = exchange._api
    install(exchange, ids)
    return api, ids


def sent_id(api: FakeApi) -> str | None:
    params = api.sent[-1]["params"]
    return params.get("clientOrderId") or params.get("newClientOrderId")


# ------------------------------------------------------------------ the ids


@pytest.mark.parametrize(
    ("trade_id", "tag", "n", "expected"),
    [
        (1, "tp1", 2, "pg-1-tp1-2"),
        (12, "tp1,tp2", 5, "pg-12-tp1.tp2-5"),
        (3, "stop_loss", 4, "pg-3-stop_loss-4"),
        (3, "kill_switch", 4, "pg-3-kill_switch-4"),
        (7, "my exit (big)", 3, "pg-7-my.exit..big.-3"),
        (123456, "x" * 60, 99, "pg-123456-" + "x" * 23 + "-99"),
    ],
)
def test_exit_client_id_when_built_then_binance_valid_and_tag_readable(trade_id, tag, n, expected):
    client_id = exit_client_id(trade_id, tag, n)
    assert client_id == expected
    assert VALID_ID.match(client_id)
    assert tag_of(client_id) == expected.split("-", 2)[2].rsplit("-", 1)[0]


@given(
    st.integers(min_value=1, max_value=10**9),
    st.text(max_size=80),
    st.integers(min_value=1, max_value=10**6),
)
def test_exit_client_id_when_any_tag_then_always_a_valid_binance_id(trade_id, tag, n):
    client_id = exit_client_id(trade_id, tag, n)
    assert VALID_ID.match(client_id), client_id
    assert client_id.startswith(f"pg-{trade_id}-") and client_id.endswith(f"-{n}")


def test_entry_client_id_when_no_tag_then_entry():
    assert entry_client_id(None, 1764601200123) == "pg-new-entry-1764601200123"
    assert tag_of("x-TKT5PX2F33160b341139a24d031ac4") is None


# --------------------------------------------------------- the expected orders


def test_take_when_pair_side_and_type_match_then_the_id_once():
    ids = ClientOrderIds()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    assert ids.take("BTC/USDT", "sell", "market") == "pg-1-tp1-2"
    assert ids.take("BTC/USDT", "sell", "market") is None  # consumed


@pytest.mark.parametrize(
    ("pair", "side"), [("ETH/USDT", "sell"), ("BTC/USDT", "buy"), ("BTC/USDT:USDT", "sell")]
)
def test_take_when_other_pair_or_side_then_never_and_the_expectation_stays(pair, side):
    ids = ClientOrderIds()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    assert ids.take(pair, side, "market") is None
    assert ids.take("BTC/USDT", "sell", "market") == "pg-1-tp1-2"


@pytest.mark.parametrize("order_type", ["limit", "stop_loss_limit", "stop_market", "stop"])
def test_take_when_other_type_then_never_and_the_expectation_is_dropped(order_type):
    ids = ClientOrderIds()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    assert ids.take("BTC/USDT", "sell", order_type) is None
    # Freqtrade placed something else: the announced order is not coming
    assert ids.take("BTC/USDT", "sell", "market") is None


def test_take_when_a_new_loop_cleared_then_a_stale_id_is_never_attached():
    ids = ClientOrderIds()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")  # Freqtrade did not place it
    ids.clear()
    assert ids.take("BTC/USDT", "sell", "market") is None


def test_expect_when_announced_again_then_the_latest_wins():
    ids = ClientOrderIds()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    ids.expect("BTC/USDT", "sell", "market", "pg-1-force_exit-2")
    assert ids.take("BTC/USDT", "sell", "market") == "pg-1-force_exit-2"


def test_expect_when_id_not_valid_for_binance_then_refused():
    with pytest.raises(ValueError, match="does not match"):
        ClientOrderIds().expect("BTC/USDT", "sell", "market", "tp1,tp2")


# ---------------------------------------------------------------- the wrapper


def test_wrapper_when_announced_then_sent_as_ccxts_unified_client_order_id():
    api, ids = wrapped()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    order = api_create(api, "BTC/USDT", "market", "sell", 5.0, None, {"x": 1})
    assert sent_id(api) == "pg-1-tp1-2" and order["clientOrderId"] == "pg-1-tp1-2"
    assert api.sent[-1]["params"]["x"] == 1
    ids.expect("BTC/USDT", "buy", "limit", "pg-new-entry-1")
    api_create(api, symbol="BTC/USDT", type="limit", side="buy", amount=1.0, price=100.0)
    assert sent_id(api) == "pg-new-entry-1"


def api_create(api, *args, **kwargs):
    return api.create_order(*args, **kwargs)


def test_wrapper_when_nothing_announced_or_a_stop_then_ccxt_chooses_the_id():
    api, ids = wrapped()
    api_create(api, "BTC/USDT", "market", "sell", 5.0)
    assert sent_id(api) is None
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    api_create(api, symbol="BTC/USDT", type="stop_loss_limit", side="sell", amount=5.0,
               price=97.0, params={"stopPrice": 98.0})  # fmt: skip
    assert sent_id(api) is None
    api_create(api, "BTC/USDT", "market", "sell", 5.0)  # the stop consumed the stale one
    assert sent_id(api) is None


def test_wrapper_when_caller_names_an_id_then_kept():
    api, ids = wrapped()
    ids.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    api_create(api, "BTC/USDT", "market", "sell", 5.0, None, {"newClientOrderId": "mine"})
    assert sent_id(api) == "mine"


def test_wrapper_when_installed_twice_then_wraps_once_with_the_latest_ids():
    exchange = FakeExchange()
    api = exchange._api
    first, second = ClientOrderIds(), ClientOrderIds()
    install(exchange, first)
    install(exchange, second)
    second.expect("BTC/USDT", "sell", "market", "pg-1-tp1-2")
    api_create(api, "BTC/USDT", "market", "sell", 5.0)
    assert sent_id(api) == "pg-1-tp1-2" and len(api.sent) == 1


class OtherShape:
    def create_order(self, pair, ordertype, side, amount, rate=None):
        return {}


@pytest.mark.parametrize("exchange", [object(), FakeExchange(object()), FakeExchange(OtherShape())])
def test_install_when_hook_missing_or_changed_then_error_naming_it(exchange):
    with pytest.raises(ClientIdHookMissing, match=r"exchange\._api\.create_order\(symbol, type"):
        install(exchange, ClientOrderIds())


# ----------------------------------------------------------- the strategy's part


def live(exchange=None, *, runmode=RunMode.LIVE, **config):
    """A started strategy (live by default) whose data provider holds `exchange`."""
    exchange = exchange if exchange is not None else FakeExchange()
    userdir = tempfile.mkdtemp(prefix="profitguard-test-")
    config = {
        "runmode": runmode, "dry_run": runmode is not RunMode.LIVE, "timeframe": "5m",
        "stake_currency": "USDT", "user_data_dir": userdir,
        "db_url": f"sqlite:///{userdir}/tradesv3.sqlite", **config,
    }  # fmt: skip
    strategy = Fixture(config)
    strategy.dp = DataProvider(config, exchange=exchange)
    strategy.ft_bot_start()
    return strategy, exchange._api


def test_strategy_when_live_then_partial_exit_carries_its_tag():
    strategy, api = live()
    trade = make_trade(10.0, 100.0)
    later = OPENED + timedelta(minutes=5)
    stop_of(strategy, trade, 104.5, at=later)
    _, tag = adjust(strategy, trade, 103.0, at=later + timedelta(minutes=5))
    assert tag == "tp1"
    api_create(api, trade.pair, strategy.order_types["exit"], "sell", 5.0)
    assert sent_id(api) == f"pg-{trade.id}-tp1-{len(trade.orders) + 1}"


def test_strategy_when_a_new_loop_starts_then_an_unplaced_exit_loses_its_id():
    strategy, api = live()
    trade = make_trade(10.0, 100.0)
    stop_of(strategy, trade, 104.5)
    assert adjust(strategy, trade, 104.5)[1] == "tp1"  # Freqtrade did not place it
    strategy.bot_loop_start(current_time=OPENED + timedelta(minutes=1))
    # an exit of the same pair, side and type, unannounced (e.g. a replaced order)
    api_create(api, trade.pair, strategy.order_types["exit"], "sell", 5.0)
    assert sent_id(api) is None


@pytest.mark.parametrize("reason", ["stop_loss", "kill_switch", "force_exit"])
def test_strategy_when_full_exit_confirmed_then_its_reason_is_the_id(reason):
    strategy, api = live()
    trade = make_trade(10.0, 100.0)
    assert strategy.confirm_trade_exit(
        pair=trade.pair, trade=trade, order_type="limit", amount=10.0, rate=99.0,
        time_in_force="GTC", exit_reason=reason, current_time=OPENED,
    )  # fmt: skip
    api_create(api, trade.pair, "limit", "sell", 10.0, 99.0)
    assert sent_id(api) == f"pg-1-{reason}-2"


def test_strategy_when_entry_confirmed_then_entry_id():
    strategy, api = live()
    strategy._pg_gate.confirm = lambda pair, **kwargs: True  # the gate has its own tests
    assert strategy.confirm_trade_entry(
        pair="BTC/USDT", order_type="market", amount=1.0, rate=100.0, time_in_force="GTC",
        current_time=OPENED, entry_tag=None, side="long",
    )  # fmt: skip
    api_create(api, "BTC/USDT", "market", "buy", 1.0)
    assert tag_of(sent_id(api)) == "entry" and sent_id(api).startswith("pg-new-entry-")


@pytest.mark.parametrize(
    ("config", "runmode"),
    [({"profitguard": {"client_order_ids": False}}, RunMode.LIVE), ({}, RunMode.DRY_RUN)],
)
def test_strategy_when_switched_off_or_dry_run_then_not_installed(config, runmode):
    exchange = FakeExchange()
    original = exchange._api.create_order
    strategy, api = live(exchange, runmode=runmode, **config)
    assert strategy._pg_client_ids is None
    assert api.create_order == original


def test_strategy_when_live_and_hook_missing_then_off_with_one_warning_naming_it(caplog):
    exchange = FakeExchange(OtherShape())
    original = exchange._api.create_order
    with caplog.at_level(logging.WARNING):
        strategy, api = live(exchange=exchange)
    assert strategy._pg_client_ids is None
    assert api.create_order == original
    warnings = [r.getMessage() for r in caplog.records if "client order ids are off" in r.message]
    assert len(warnings) == 1 and "exchange._api.create_order(symbol, type" in warnings[0]


def test_strategy_when_live_on_okx_then_ids_in_okxs_format():
    strategy, api = live(FakeExchange(FakeApi("okx")))
    trade = make_trade(10.0, 100.0)
    assert strategy.confirm_trade_exit(
        pair=trade.pair, trade=trade, order_type="limit", amount=10.0, rate=99.0,
        time_in_force="GTC", exit_reason="stop_loss", current_time=OPENED,
    )  # fmt: skip
    api_create(api, trade.pair, "limit", "sell", 10.0, 99.0)
    assert sent_id(api) == "pg1TstoplossN2"


def test_strategy_when_live_on_an_unchecked_exchange_then_off_with_one_line(caplog):
    exchange = FakeExchange(FakeApi("hyperliquid"))
    original = exchange._api.create_order
    with caplog.at_level(logging.WARNING):
        strategy, api = live(exchange)
    assert strategy._pg_client_ids is None
    assert api.create_order == original
    lines = [r.getMessage() for r in caplog.records if "client order ids are off" in r.message]
    assert lines == [
        "profitguard: client order ids are off on hyperliquid: its id format is not one "
        "profitguard has checked (orders keep ccxt's ids)"
    ]


def test_settings_when_client_order_ids_not_a_flag_then_refused():
    with pytest.raises(OperationalException, match=r"'profitguard\.client_order_ids' must be true"):
        started(profitguard={"client_order_ids": "yes"})


class ReconcilableExchange(FakeExchange):
    """Has what the reconciler reads of Freqtrade's exchange."""

    markets: dict = {}  # noqa: RUF012

    def fetch_orders(self, pair, since):
        return []

    def get_pair_base_currency(self, pair):
        return pair.split("/")[0]


def test_strategy_when_live_then_reconciler_installed_with_the_wrappers_placement():
    strategy, _ = live(ReconcilableExchange(), profitguard={"reconcile_every_loops": 3})
    reconciler = strategy._pg_reconciler
    assert reconciler is not None and reconciler.every_loops == 3
    assert reconciler.placement is strategy._pg_client_ids.placement
    assert strategy.untracked_amount() == {}


def test_strategy_when_freqtrade_lacks_a_part_then_reconciliation_off_with_one_warning(caplog):
    strategy, _ = live(FakeExchange())  # no fetch_orders
    assert strategy._pg_reconciler is None and strategy._pg_client_ids is not None
    warnings = [r.getMessage() for r in caplog.records if "reconciliation is off" in r.getMessage()]
    missing = "exchange.fetch_orders, exchange.get_pair_base_currency"
    assert warnings == [f"profitguard: reconciliation is off: Freqtrade has no {missing}"]


@pytest.mark.parametrize("value", [0, -1, "10", True, 2.5])
def test_settings_when_reconcile_every_loops_not_a_count_then_refused(value):
    with pytest.raises(OperationalException, match=r"'profitguard\.reconcile_every_loops' must be"):
        started(profitguard={"reconcile_every_loops": value})
