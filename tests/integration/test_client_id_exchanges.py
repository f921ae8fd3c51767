"""profitguard's client order id on every exchange Freqtrade supports, as ccxt sends it.

For each exchange in Freqtrade's `SUPPORTED_EXCHANGES` and each trading mode its
Freqtrade class supports, a real ccxt instance (fake keys, a market set by hand,
its HTTP `fetch` stubbed: no network) places an order through profitguard's
wrapper (`client_ids.install`), and the test reads the request ccxt signed: the id
must be there, in the exchange's own field, in a format the exchange accepts
(`client_id_format`). An exchange whose format profitguard has not checked must
have the feature off. `pytest -s` prints the table of what is sent.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import ccxt
import pytest
from freqtrade.enums import TradingMode
from freqtrade.exchange.common import SUPPORTED_EXCHANGES

from profitguard.freqtrade.client_id_format import FORMATS, id_format
from profitguard.freqtrade.client_ids import ClientOrderIds, install


class Sent(Exception):
    """Raised by the stubbed fetch once the request is built and signed."""


def _modes(exchange_id: str) -> list[TradingMode]:
    import freqtrade.exchange as classes

    klass = getattr(classes, exchange_id.title(), None)  # Freqtrade's class, if it has one
    pairs = getattr(klass, "_supported_trading_mode_margin_pairs", [])
    modes = sorted({mode for mode, _ in pairs}, key=lambda m: m.value)
    return modes or [TradingMode.SPOT]


def _market(swap: bool) -> dict:
    symbol = "BTC/USDT:USDT" if swap else "BTC/USDT"
    return {
        "id": "BTCUSDT", "symbol": symbol, "base": "BTC", "quote": "USDT", "baseId": "BTC",
        "quoteId": "USDT", "active": True, "type": "swap" if swap else "spot", "spot": not swap,
        "swap": swap, "future": False, "option": False, "margin": False, "contract": swap,
        "linear": True if swap else None, "inverse": False if swap else None,
        "settle": "USDT" if swap else None, "settleId": "USDT" if swap else None,
        "contractSize": 1.0 if swap else None, "precision": {"amount": 1.0, "price": 0.1},
        "limits": {"amount": {"min": 1.0}, "price": {}, "cost": {}, "leverage": {}},
        "info": {"orderTypes": ["LIMIT", "MARKET"]}, "created": None, "expiry": None,
        "expiryDatetime": None, "strike": None, "optionType": None, "taker": 0.001,
        "maker": 0.001, "percentage": True, "tierBased": False, "feeSide": "get",
        "lowercaseId": "btcusdt",
    }  # fmt: skip


class FreqtradeExchange:
    """What the wrapper hooks into: Freqtrade's exchange object holds ccxt as `_api`."""

    def __init__(self, api) -> None:
        self._api = api


def request_sent(exchange_id: str, mode: TradingMode, client_id: str) -> dict:
    """The request ccxt builds for a limit sell carrying `client_id`, through the wrapper."""
    api = getattr(ccxt, exchange_id)(
        {
            "apiKey": "k" * 32, "secret": "c2VjcmV0" * 4, "password": "p", "uid": "u",
            # Bybit asks whether the account is unified first: say it is
            "options": {"enableUnifiedAccount": True, "enableUnifiedMargin": False},
        }
    )  # fmt: skip
    sent: dict = {}

    def fetch(url, method="GET", headers=None, body=None):
        sent.update(url=url, method=method, body=body)
        raise Sent()

    api.fetch = fetch
    swap = mode is TradingMode.FUTURES
    api.set_markets([_market(swap)])
    api.load_markets = lambda *args, **kwargs: api.markets
    ids = ClientOrderIds(id_format(exchange_id))
    install(FreqtradeExchange(api), ids)
    symbol = "BTC/USDT:USDT" if swap else "BTC/USDT"
    ids.expect(symbol, "sell", "limit", client_id)
    with pytest.raises(Sent):
        api.create_order(symbol, "limit", "sell", 1.0, 50000.0, {})
    return sent


def fields_of(sent: dict) -> dict:
    """Every field of the request: query string, form body or JSON body (a batch: its first)."""
    fields = {k: v[0] for k, v in parse_qs(urlsplit(sent["url"]).query).items()}
    body = sent["body"]
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            fields |= {k: v[0] for k, v in parse_qs(body).items()}
        else:
            fields |= data[0] if isinstance(data, list) else data
    return fields


CASES = [(e, m) for e in SUPPORTED_EXCHANGES for m in _modes(e)]


def test_every_supported_exchange_when_listed_then_checked_or_off():
    assert set(SUPPORTED_EXCHANGES) <= set(FORMATS), (
        "Freqtrade supports an exchange profitguard has not reviewed: add it to "
        "client_id_format.FORMATS (its format, or None: off)"
    )


@pytest.mark.parametrize(("exchange_id", "mode"), CASES, ids=[f"{e}-{m.value}" for e, m in CASES])
def test_client_id_when_sent_through_ccxt_then_in_the_exchanges_field_and_format(exchange_id, mode):
    fmt = id_format(exchange_id)
    if fmt is None:
        print(f"{exchange_id:14} {mode.value:8} off")
        return
    client_id = ClientOrderIds(fmt).exit_id(123, "tp1,tp2", 7)
    fields = fields_of(request_sent(exchange_id, mode, client_id))
    expected = f"t-{client_id}" if exchange_id.startswith("gate") else client_id
    carrying = [name for name, value in fields.items() if value == expected]
    print(f"{exchange_id:14} {mode.value:8} {carrying}={expected}")
    assert carrying and carrying[0] in fmt.name.split("/"), fields
    assert fmt.valid.match(client_id)
    assert client_id in (
        "pg-123-tp1.tp2-7",  # Binance's characters
        "pg-123-tp1_tp2-7",  # no '.': '_' stands for the others
        "pg123Ttp1tp2N7",  # letters and digits only (OKX)
    )


@pytest.mark.parametrize("exchange_id", sorted(e for e, f in FORMATS.items() if f))
def test_long_tag_when_cut_then_id_fits_and_keeps_trade_and_order(exchange_id):
    fmt = id_format(exchange_id)
    ids = ClientOrderIds(fmt)
    client_id = ids.exit_id(987654321, "a-very-long-custom-exit-tag" * 3, 123456)
    assert fmt.valid.match(client_id)
    assert len(client_id) <= fmt.max_length
    assert "987654321" in client_id and client_id.endswith("123456")
    entry = ids.entry_id("my entry", 1765000000000)
    assert fmt.valid.match(entry) and entry.endswith("1765000000000")
