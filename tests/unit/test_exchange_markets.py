import ccxt
import pytest

from profitguard.tooling.exchange.markets import (
    exchange_info_symbol,
    market_spec,
    min_notional_for_quote,
    power_of_ten_at_most,
    round_to_step,
    split_pair,
    step_size,
    symbol_id,
    tick_size,
)


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (60000.0, 1.0),
        (99999.0, 1.0),
        (100000.0, 10.0),
        (3000.0, 0.1),
        (1000.0, 0.1),
        (150.0, 0.01),
        (1.0, 0.0001),
        (0.05, 0.000001),
        (0.00000123, 0.00000001),  # never finer than Binance's 8 decimals
    ],
)
def test_tick_size_when_price_level_given_then_five_significant_digits(price, tick):
    assert tick_size(price) == pytest.approx(tick)


@pytest.mark.parametrize(
    ("price", "min_notional", "step"),
    [
        (60000.0, 5.0, 0.000001),
        (3000.0, 5.0, 0.0001),
        (150.0, 5.0, 0.001),
        (0.6, 5.0, 0.1),
        (0.05, 0.0001, 0.0001),  # ETH/BTC
    ],
)
def test_step_size_when_price_and_min_notional_given_then_step_worth_a_tenth_at_most(
    price, min_notional, step
):
    got = step_size(price, min_notional)
    assert got == pytest.approx(step)
    assert got * price <= min_notional / 10 * 1.000001
    assert got * price > min_notional / 100


@pytest.mark.parametrize(
    ("quote", "usd_price", "expected"),
    [
        ("USDT", None, 5.0),
        ("BTC", None, 0.0001),
        ("ETH", 9999.0, 0.001),  # the table wins over a conversion
        ("DOT", 6.0, 0.1),  # 5 USDT / 6 -> 0.83, rounded down to a power of ten
        ("XYZ", None, 5.0),  # nothing known: the fallback
    ],
)
def test_min_notional_for_quote_when_quote_given_then_about_five_usdt(quote, usd_price, expected):
    assert min_notional_for_quote(quote, usd_price) == pytest.approx(expected)


@pytest.mark.parametrize("value", [1e-9, 0.3, 1.0, 7.0, 10.0, 999.0, 1000.0, 123456.0])
def test_power_of_ten_at_most_when_value_given_then_bracketed(value):
    p = power_of_ten_at_most(value)
    assert p <= value * (1 + 1e-12) < 10 * p


@pytest.mark.parametrize("value", [0.0, -1.0, float("inf"), float("nan")])
def test_power_of_ten_at_most_when_not_positive_then_raises(value):
    with pytest.raises(ValueError, match="must be positive"):
        power_of_ten_at_most(value)


@pytest.mark.parametrize("pair", ["BTCUSDT", "BTC/USDT:USDT", "/USDT", "BTC/"])
def test_split_pair_when_not_spot_pair_then_raises(pair):
    with pytest.raises(ValueError, match="not a spot pair"):
        split_pair(pair)


def test_symbol_id_when_spot_pair_then_concatenated():
    assert symbol_id("ETH/BTC") == "ETHBTC"


def test_round_to_step_when_decimal_step_then_no_binary_noise():
    assert round_to_step([1.2345, 0.30000000000000004], 0.1).tolist() == [1.2, 0.3]


def test_market_spec_when_price_not_positive_then_raises():
    with pytest.raises(ValueError, match="price_level for BTC/USDT must be positive, was 0"):
        market_spec("BTC/USDT", 0.0, 5.0)


@pytest.mark.parametrize(
    ("pair", "price", "min_notional"),
    [("BTC/USDT", 60000.0, 5.0), ("ETH/BTC", 0.05, 0.0001), ("XRP/USDT", 0.6, 5.0)],
)
def test_exchange_info_symbol_when_parsed_by_ccxt_then_precision_and_limits_match(
    pair, price, min_notional
):
    spec = market_spec(pair, price, min_notional)
    exchange = ccxt.binance()
    exchange.options.update(crossMarginPairsData=[], isolatedMarginPairsData=[])
    market = exchange.parse_market(exchange_info_symbol(spec))
    assert market["symbol"] == pair
    assert market["spot"] is True
    assert market["active"] is True
    assert market["precision"]["price"] == pytest.approx(spec.tick_size)
    assert market["precision"]["amount"] == pytest.approx(spec.step_size)
    assert market["limits"]["amount"]["min"] == pytest.approx(spec.step_size)
    assert market["limits"]["cost"]["min"] == pytest.approx(min_notional)
