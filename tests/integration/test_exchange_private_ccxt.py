"""ccxt's own binance client, signed, against the offline exchange's private endpoints."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

import ccxt
import pytest

from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.freqtrade_config import ccxt_config
from profitguard.tooling.exchange.harness import start_exchange
from profitguard.tooling.exchange.private import Credentials
from profitguard.tooling.exchange.server import ExchangeServer, ReplayOptions, build_api

KEY, SECRET = "ccxt-test-key", "ccxt-test-secret-do-not-log"
# replayed 1m candles at 0.5 s each: flat at 100, then a climb of 0.5 a candle
PRICES = [100.0] * 40 + [100.0 + 0.5 * i for i in range(1, 60)]


@pytest.fixture
def exchange():
    replay = ReplayOptions(
        seconds_per_candle=0.5,
        timeframe="1m",
        sources={"RST/USDT": scripted_source(PRICES, "1m", history=36)},
    )
    with start_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 5000.0}
    ) as running:
        yield running


def client(exchange, key=KEY, secret=SECRET):
    api = ccxt.binance({**ccxt_config(exchange.url), "apiKey": key, "secret": secret})
    api.load_markets()
    return api


def ledger(exchange) -> dict:
    with urllib.request.urlopen(exchange.url + "/_profitguard/ledger", timeout=10) as answer:
        return json.loads(answer.read())


def test_ccxt_when_trading_then_orders_fills_and_balances_agree_with_ledger(exchange):
    api = client(exchange)
    assert api.fetch_balance()["total"] == {"USDT": 5000.0}
    buy = api.create_order("RST/USDT", "market", "buy", 10, params={"newClientOrderId": "entry"})
    assert buy["status"] == "closed" and buy["filled"] == 10 and buy["clientOrderId"] == "entry"
    assert buy["fee"]["currency"] == "RST"
    take = api.create_order("RST/USDT", "limit", "sell", 4, 102)
    stop = api.create_order("RST/USDT", "stop_loss_limit", "sell", 5, 98, {"stopPrice": 99})
    assert (take["status"], stop["status"], stop["stopPrice"]) == ("open", "open", 99)
    assert {o["id"] for o in api.fetch_open_orders("RST/USDT")} == {take["id"], stop["id"]}
    assert api.fetch_balance()["RST"]["used"] == 9
    assert api.cancel_order(stop["id"], "RST/USDT")["status"] == "canceled"
    deadline = time.monotonic() + 30
    while api.fetch_order(take["id"], "RST/USDT")["status"] != "closed":
        assert time.monotonic() < deadline, "the rising path never filled the take-profit"
        time.sleep(0.5)
    trades = api.fetch_my_trades("RST/USDT")
    assert sum(t["amount"] for t in trades if t["side"] == "sell") == 4
    assert [t["price"] for t in trades if t["side"] == "sell"] == [102]
    book = ledger(exchange)
    assert book["orders"][0]["client_order_id"] == "entry"
    assert [o["status"] for o in book["orders"]] == ["FILLED", "FILLED", "CANCELED"]
    balance = api.fetch_balance()
    assert balance["RST"]["total"] == pytest.approx(book["balances"]["RST"]["free"])
    assert balance["RST"]["total"] == pytest.approx(10 * 0.999 - 4)
    assert len(api.fetch_orders("RST/USDT")) == 3


@pytest.mark.parametrize(
    ("key", "secret", "error"),
    [
        (KEY, "wrong-secret", ccxt.AuthenticationError),  # -1022
        ("wrong-key", SECRET, ccxt.AuthenticationError),  # -2015
    ],
)
def test_ccxt_when_wrong_credentials_then_refused_and_nothing_booked(exchange, key, secret, error):
    api = ccxt.binance(ccxt_config(exchange.url))
    api.load_markets()  # without keys: public endpoints only
    api.apiKey, api.secret = key, secret
    with pytest.raises(error):
        api.create_order("RST/USDT", "market", "buy", 1)
    assert ledger(exchange)["orders"] == []


def test_ccxt_when_order_breaks_filters_or_balance_then_binance_exceptions(exchange):
    api = client(exchange)
    with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # -1013, as ccxt maps it
        api.create_order("RST/USDT", "market", "buy", 0.01)
    with pytest.raises(ccxt.InsufficientFunds):
        api.create_order("RST/USDT", "market", "buy", 100)
    with pytest.raises(ccxt.OrderNotFound):
        api.cancel_order("12345", "RST/USDT")
    api.create_order("RST/USDT", "market", "buy", 2)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        api.create_order("RST/USDT", "stop_loss_limit", "sell", 1, 100, {"stopPrice": 101})


def test_server_log_when_signed_traffic_then_no_secret_and_no_key(exchange, caplog):
    caplog.set_level(logging.DEBUG)
    api = client(exchange)
    api.create_order("RST/USDT", "market", "buy", 1)
    bad = ccxt.binance(ccxt_config(exchange.url))
    bad.load_markets()
    bad.apiKey, bad.secret = KEY, "x"
    with pytest.raises(ccxt.AuthenticationError):
        bad.fetch_balance()
    # the server's log (ccxt's own debug log shows the key header it sends)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("profitguard"))
    assert "order 1" in text  # the server did log the order
    assert SECRET not in text and KEY not in text


def test_server_when_no_host_given_then_binds_loopback():
    server = ExchangeServer(build_api(datadir=None, pairs=["BTC/USDT"]), port=0)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_http_faults_when_injected_then_ccxt_sees_what_binance_would_send():
    from profitguard.tooling.exchange.faults import FaultPlan

    rules = [
        {"kind": "http_error", "endpoint": "GET /api/v3/account", "count": 1, "status": 502},
        {"kind": "rate_limit", "endpoint": "GET /api/v3/account", "count": 1, "after": 1},
        {"kind": "ban", "endpoint": "GET /api/v3/account", "count": 1, "after": 2},
        {"kind": "slow", "endpoint": "GET /api/v3/openOrders", "count": 1, "delay_s": 1.5},
        {"kind": "drop", "endpoint": "POST /api/v3/order", "count": 1},
    ]
    plan = FaultPlan.from_dict({"seed": 5, "faults": rules})
    replay = ReplayOptions(
        seconds_per_candle=1, timeframe="1m",
        sources={"RST/USDT": scripted_source(PRICES, "1m", history=36)},
    )  # fmt: skip
    with start_exchange(
        replay=replay, credentials=Credentials(KEY, SECRET), balances={"USDT": 5000.0},
        faults=plan,
    ) as exchange:  # fmt: skip
        api = client(exchange)
        api.timeout = 1000  # ms
        with pytest.raises(ccxt.OperationFailed):  # 502 with -1001: retried by Freqtrade
            api.fetch_balance()
        with pytest.raises(ccxt.DDoSProtection):  # 429
            api.fetch_balance()
        with pytest.raises(ccxt.DDoSProtection):  # 418
            api.fetch_balance()
        assert api.fetch_balance()["total"]["USDT"] == 5000
        with pytest.raises(ccxt.RequestTimeout):
            api.fetch_open_orders("RST/USDT")
        with pytest.raises(ccxt.NetworkError):  # the answer is cut off ...
            api.create_order("RST/USDT", "market", "buy", 1)
        book = ledger(exchange)  # ... but the order went through
        assert [o["status"] for o in book["orders"]] == ["FILLED"]
        assert book["faults"]["injected"] == {
            "http_error": 1, "rate_limit": 1, "ban": 1, "slow": 1, "drop": 1,
        }  # fmt: skip
        # the 429 and the 418 carry Retry-After, as Binance's do
        plan.rules[1].fired = 0
        plan.rules[1].seen = 1  # past its "after"
        request = urllib.request.Request(exchange.url + "/api/v3/account")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=5)
        assert err.value.code == 429 and err.value.headers["Retry-After"] == "1"
        err.value.close()
        api.session.close()


def test_server_when_a_client_hangs_up_mid_answer_then_no_traceback(capsys, caplog):
    server = ExchangeServer(build_api(datadir=None, pairs=["BTC/USDT"]), port=0)
    try:
        for gone in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise gone
            except ConnectionError:
                with caplog.at_level(logging.DEBUG, logger="profitguard.tooling.exchange.server"):
                    server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        assert "went away" in caplog.text
        try:
            raise ValueError("a real error")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a real error" in capsys.readouterr().err  # still shown
    finally:
        server.server_close()
