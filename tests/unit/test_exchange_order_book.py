import pytest

from profitguard.tooling.exchange.markets import market_spec
from profitguard.tooling.exchange.order_book import synth_book


@pytest.mark.parametrize(
    ("pair", "price", "min_notional"),
    [
        ("BTC/USDT", 60000.0, 5.0),
        ("BTC/USDT", 60000.5, 5.0),
        ("ETH/BTC", 0.0512345, 0.0001),
        ("XRP/USDT", 0.6, 5.0),
    ],
)
def test_synth_book_when_price_given_then_spread_around_it_on_the_tick_grid(
    pair, price, min_notional
):
    spec = market_spec(pair, price, min_notional)
    book = synth_book(spec, price, 20)
    bids = [p for p, _ in book.bids]
    asks = [p for p, _ in book.asks]
    assert len(bids) == len(asks) == 20
    assert bids[0] <= price <= asks[0]
    assert bids[0] < asks[0]
    assert bids == sorted(bids, reverse=True)
    assert asks == sorted(asks)
    for p in bids + asks:
        assert p / spec.tick_size == pytest.approx(round(p / spec.tick_size), abs=1e-6)
    for _, q in book.bids + book.asks:
        assert q >= spec.step_size
        assert q / spec.step_size == pytest.approx(round(q / spec.step_size), abs=1e-6)


def test_synth_book_when_deep_market_order_then_enough_depth_near_the_touch():
    spec = market_spec("BTC/USDT", 60000.0, 5.0)
    book = synth_book(spec, 60000.0, 20)
    notional = sum(p * q for p, q in book.asks)
    assert notional > 10_000  # a 1000 USDT dry-run order fills within the top 20 levels
    assert book.asks[-1][0] / 60000.0 - 1 < 0.005


def test_synth_book_when_called_twice_then_identical():
    spec = market_spec("SOL/USDT", 150.0, 5.0)
    assert synth_book(spec, 150.0, 50) == synth_book(spec, 150.0, 50)


@pytest.mark.parametrize(
    ("price", "depth", "message"), [(0.0, 5, "price must be positive"), (1.0, 0, "depth")]
)
def test_synth_book_when_invalid_then_raises(price, depth, message):
    with pytest.raises(ValueError, match=message):
        synth_book(market_spec("BTC/USDT", 60000.0, 5.0), price, depth)
