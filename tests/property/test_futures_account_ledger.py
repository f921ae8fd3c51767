"""The offline exchange's futures account under arbitrary order sequences.

Market and resting limit orders, reduce-only or not, on both sides, while the
replayed price moves. After every step the books must agree with the fills alone:
the position is the signed sum of the fills, the wallet is the start plus the
realized PnL less the fees, no reduce-only fill ever crossed zero, and the margin
held is never negative and nothing when flat.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from profitguard.tooling.exchange.feeds import scripted_source
from profitguard.tooling.exchange.private import Credentials, sign
from profitguard.tooling.exchange.server import ReplayOptions, build_api

T0 = 1_767_225_600_000 + 1000  # just after a funding moment: none passes in a test
KEY, SECRET = "prop-key", "prop-secret"
PAIR, SYMBOL = "BTC/USDT:USDT", "BTCUSDT"
WAVE = [100.0] * 6 + [100.0 + 4 * ((i % 8) - 4 if (i // 8) % 2 else 4 - (i % 8)) for i in range(60)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def make_api(clock):
    replay = ReplayOptions(
        seconds_per_candle=1,
        timeframe="1m",
        sources={PAIR: scripted_source(WAVE, "1m", history=5)},
    )
    return build_api(
        datadir=None,
        replay=replay,
        now_ms=T0,
        clock=clock,
        credentials=Credentials(KEY, SECRET),
        balances={"USDT": 10_000.0},
    )


def send(api, method, path, params):
    query = urlencode({**params, "timestamp": api.clock()})
    query += "&signature=" + sign(SECRET, query)
    post = method == "POST"
    return api.handle(
        method, path, {}, raw_query="" if post else query, body=query if post else "",
        headers={"X-MBX-APIKEY": KEY},
    )  # fmt: skip


steps = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from([0.5, 1.0, 2.0, 3.0]),  # few sizes: orders that match positions
        st.booleans(),  # reduce-only
        st.one_of(st.none(), st.integers(min_value=-6, max_value=6)),  # limit offset
        st.integers(min_value=0, max_value=6_000),  # ms to let pass
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.sampled_from([1, 3, 10]))
# a short, a reduce-only take-profit resting for all of it, a market cover of a third
# first: the take-profit may then only buy back what is left
@example([("SELL", 3.0, False, None, 0), ("BUY", 3.0, True, -4, 0), ("BUY", 1.0, True, None, 0),
          ("BUY", 0.5, False, -20, 20_000)], 3)  # fmt: skip
def test_futures_books_when_any_order_sequence_then_agree_with_the_fills(steps, leverage):
    clock = Clock()
    api = make_api(clock)
    send(api, "POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": leverage})
    futures = api.futures_private
    for side, qty, reduce_only, offset, wait in steps:
        params = {"symbol": SYMBOL, "side": side, "quantity": qty, "type": "MARKET"}
        if offset is not None:
            price = futures.engine.price(futures.engine.by_symbol[SYMBOL], clock.now) + offset
            params.update(type="LIMIT", price=f"{price:.1f}", timeInForce="GTC")
        if reduce_only:
            params["reduceOnly"] = "true"
        status, body = send(api, "POST", "/fapi/v1/order", params)
        assert status == 200 or body["code"] in (-2022, -2019, -4164, -1013), body
        clock.now += wait
        book = api.handle("GET", "/_profitguard/ledger", {})[1]
        fills = [f for f in book["fills"] if f["pair"] == PAIR]
        orders = {o["order_id"]: o for o in book["orders"]}
        amount = 0.0
        for f in fills:
            signed = f["amount"] if f["side"] == "BUY" else -f["amount"]
            if orders[f["order_id"]]["reduce_only"]:
                assert abs(amount + signed) <= abs(amount) + 1e-9  # shrinks, never flips
                assert amount * (amount + signed) >= -1e-12
            amount += signed
        position = book["futures"]["positions"][PAIR]
        assert position["amount"] == pytest.approx(amount, abs=1e-8)
        wallet = 10_000 + sum(f["realized_pnl"] - f["fee"] for f in fills)
        assert book["futures"]["wallet"]["USDT"] == pytest.approx(wallet, abs=1e-6)
        assert position["isolated_margin"] >= 0
        if position["amount"] == 0:
            assert position["isolated_margin"] == 0
        else:
            notional = abs(position["amount"]) * position["entry_price"]
            assert position["isolated_margin"] == pytest.approx(notional / leverage, rel=1e-6)
