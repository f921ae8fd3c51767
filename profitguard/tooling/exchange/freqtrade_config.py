"""Freqtrade configuration for the offline exchange: read what we need, write what it needs."""

from __future__ import annotations

import json
import re
from pathlib import Path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"

# Every base URL ccxt's binance class knows (ccxt 4.5), mapped to the same path on
# the local server, so nothing can reach the real exchange by accident: endpoints we
# do not serve answer a Binance-style error and are logged.
BINANCE_API_PATHS: dict[str, str] = {
    "public": "/api/v3",
    "private": "/api/v3",
    "v1": "/api/v1",
    "sapi": "/sapi/v1",
    "sapiV2": "/sapi/v2",
    "sapiV3": "/sapi/v3",
    "sapiV4": "/sapi/v4",
    "dapiPublic": "/dapi/v1",
    "dapiPrivate": "/dapi/v1",
    "dapiPrivateV2": "/dapi/v2",
    "dapiData": "/futures/data",
    "eapiPublic": "/eapi/v1",
    "eapiPrivate": "/eapi/v1",
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
    "papi": "/papi/v1",
    "papiV2": "/papi/v2",
}

_LITERAL_PAIR = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9]+(:[A-Za-z0-9]+)?$")
# ccxt's market types load_markets asks for, per Freqtrade trading mode
MARKET_TYPES = {"spot": "spot", "futures": "linear"}


def ccxt_config(base_url: str = DEFAULT_URL, trading_mode: str = "spot") -> dict:
    """The ``exchange.ccxt_config`` block pointing ccxt's binance at ``base_url``.

    One market type (``fetchMarkets.types``): spot markets ask for /api/v3/exchangeInfo
    only, futures (USDⓈ-M, ccxt's "linear") for /fapi/v1/exchangeInfo only.
    """
    if trading_mode not in MARKET_TYPES:
        raise ValueError(f"'trading_mode' must be spot or futures, was {trading_mode!r}")
    base_url = base_url.rstrip("/")
    return {
        "urls": {"api": {key: base_url + path for key, path in BINANCE_API_PATHS.items()}},
        "options": {"fetchMarkets": {"types": [MARKET_TYPES[trading_mode]]}},
    }


def load_json_config(path: Path) -> dict:
    """A Freqtrade config file, comments and trailing commas allowed (as Freqtrade reads it)."""
    import rapidjson

    try:
        with Path(path).open() as fh:
            return rapidjson.load(
                fh, parse_mode=rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS
            )
    except rapidjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None


def whitelist_pairs(config: dict) -> list[str]:
    """Literal pairs of ``exchange.pair_whitelist`` (regex entries cannot be served)."""
    pairs = config.get("exchange", {}).get("pair_whitelist", [])
    return [p for p in pairs if _LITERAL_PAIR.match(p)]


def config_datadir(config: dict, userdir: Path | None = None) -> Path:
    """Where Freqtrade looks for this config's candles: ``<user dir>/data/<exchange>``.

    The user directory is ``userdir`` (Freqtrade's ``--userdir``), else the config's
    ``user_data_dir``, else ``user_data``. Freqtrade ignores a ``datadir`` key in the
    config (only its ``--datadir`` option moves the data), and so does this.
    """
    userdir = Path(userdir if userdir is not None else config.get("user_data_dir", "user_data"))
    return userdir / "data" / config.get("exchange", {}).get("name", "binance").lower()


def freqtrade_config(
    *,
    exchange_url: str,
    pairs: list[str],
    stake_currency: str = "USDT",
    timeframe: str | None = "5m",
    max_open_trades: int = 3,
    stake_amount: float | str = 100,
    dry_run_wallet: float = 1000,
    market_orders: bool = True,
    trading_mode: str = "spot",
    key: str = "",
    secret: str = "",
    **overrides,
) -> dict:
    """A complete dry-run Freqtrade config talking to the offline exchange at ``exchange_url``.

    ``market_orders`` uses market entries and exits priced from the order book's
    other side, which fill at once in dry-run; with False, limit orders on the same
    side, as Freqtrade's sample config. ``trading_mode="futures"``: USDⓈ-M futures with
    isolated margin (``pairs`` as ``BTC/USDT:USDT``). ``key``/``secret``: the API key
    live mode (``dry_run=False``) signs with. ``overrides`` replace top-level keys.
    """
    price_side = "other" if market_orders else "same"
    order_type = "market" if market_orders else "limit"
    config: dict = {
        "max_open_trades": max_open_trades,
        "stake_currency": stake_currency,
        "stake_amount": stake_amount,
        "tradable_balance_ratio": 0.99,
        "dry_run": True,
        "dry_run_wallet": dry_run_wallet,
        "cancel_open_orders_on_exit": False,
        "trading_mode": trading_mode,
        "margin_mode": "isolated" if trading_mode == "futures" else "",
        "unfilledtimeout": {"entry": 10, "exit": 10, "exit_timeout_count": 0, "unit": "minutes"},
        "entry_pricing": {
            "price_side": price_side,
            "use_order_book": True,
            "order_book_top": 1,
            "price_last_balance": 0.0,
            "check_depth_of_market": {"enabled": False, "bids_to_ask_delta": 1},
        },
        "exit_pricing": {"price_side": price_side, "use_order_book": True, "order_book_top": 1},
        "order_types": {
            "entry": order_type,
            "exit": order_type,
            "emergency_exit": "market",
            "force_entry": "market",
            "force_exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": False,
        },
        "exchange": {
            "name": "binance",
            "key": key,
            "secret": secret,
            "enable_ws": False,
            "ccxt_config": ccxt_config(exchange_url, trading_mode),
            "ccxt_async_config": {},
            "pair_whitelist": list(pairs),
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "bot_name": "profitguard",
        "initial_state": "running",
        "force_entry_enable": False,
        "internals": {"process_throttle_secs": 5},
        "dataformat_ohlcv": "feather",
    }
    if timeframe is not None:
        config["timeframe"] = timeframe
    config.update(overrides)
    return config


def write_config(path: Path, config: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=4) + "\n")
    return path
