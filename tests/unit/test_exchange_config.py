import copy
import json
from pathlib import Path

import ccxt
import pytest
from freqtrade.configuration.config_validation import (
    validate_config_consistency,
    validate_config_schema,
)
from freqtrade.configuration.directory_operations import create_datadir
from freqtrade.exceptions import ConfigurationError

from profitguard.tooling.exchange.freqtrade_config import (
    BINANCE_API_PATHS,
    DEFAULT_URL,
    ccxt_config,
    config_datadir,
    freqtrade_config,
    load_json_config,
    whitelist_pairs,
)

SHIPPED = Path(__file__).resolve().parents[2] / "user_data" / "config.json"


def validate(config: dict) -> None:
    """Freqtrade's own checks for a dry run, after a strategy supplied its settings."""
    config = copy.deepcopy(config)
    strategy_settings = {"timeframe": "5m", "stoploss": -0.1, "minimal_roi": {"0": 0.1}}
    config = {**strategy_settings, **config, "runmode": "dry_run"}
    validate_config_schema(config)
    validate_config_consistency(config)


def test_shipped_config_when_loaded_then_offline_dry_run_against_the_local_server():
    config = load_json_config(SHIPPED)
    validate(config)
    assert config["dry_run"] is True
    assert config["exchange"]["name"] == "binance"
    assert config["exchange"]["enable_ws"] is False
    assert config["exchange"]["ccxt_config"] == ccxt_config(DEFAULT_URL)
    assert config["pairlists"] == [{"method": "StaticPairList"}]
    assert config["stake_currency"] == "USDT"
    assert whitelist_pairs(config) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert config_datadir(config) == Path("user_data/data/binance")


def test_config_datadir_when_user_dir_set_then_where_freqtrade_reads_candles(tmp_path):
    config = {"exchange": {"name": "Binance"}, "user_data_dir": str(tmp_path / "ud")}
    config["datadir"] = str(tmp_path / "ignored")  # Freqtrade reads only --datadir
    assert config_datadir(config) == create_datadir(config) == tmp_path / "ud/data/binance"
    cli_userdir = {**config, "user_data_dir": str(tmp_path / "cli")}  # --userdir wins
    assert config_datadir(config, tmp_path / "cli") == create_datadir(cli_userdir)


def test_ccxt_config_when_built_then_every_binance_host_points_at_the_server():
    urls = ccxt_config("http://127.0.0.1:9999/")["urls"]["api"]
    assert set(ccxt.binance().urls["api"]) == set(BINANCE_API_PATHS)
    assert all(url.startswith("http://127.0.0.1:9999/") for url in urls.values())
    assert urls["public"] == "http://127.0.0.1:9999/api/v3"


@pytest.mark.parametrize("market_orders", [True, False])
def test_freqtrade_config_when_built_then_freqtrade_accepts_it(market_orders):
    config = freqtrade_config(
        exchange_url="http://127.0.0.1:1234", pairs=["ETH/USDT"], market_orders=market_orders
    )
    validate(config)
    side = "other" if market_orders else "same"
    assert config["entry_pricing"]["price_side"] == side


def test_freqtrade_config_when_overrides_then_top_level_keys_replaced():
    config = freqtrade_config(
        exchange_url=DEFAULT_URL, pairs=["ETH/USDT"], timeframe="1m", minimal_roi={"0": 0.01}
    )
    assert config["timeframe"] == "1m"
    assert config["minimal_roi"] == {"0": 0.01}


def test_load_json_config_when_comments_and_trailing_commas_then_parsed(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{\n  // a comment\n  "exchange": {"pair_whitelist": ["A/B", ".*/USDT",]},\n}')
    assert whitelist_pairs(load_json_config(path)) == ["A/B"]


def test_load_json_config_when_invalid_then_raises_naming_the_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"a": 1})[:-1])
    with pytest.raises(ValueError, match=r"bad\.json: not valid JSON"):
        load_json_config(path)


def test_validate_when_config_invalid_then_freqtrade_rejects_it():
    config = freqtrade_config(exchange_url=DEFAULT_URL, pairs=["ETH/USDT"])
    config["api_server"] = {"enabled": False}  # Freqtrade wants the whole block
    with pytest.raises(ConfigurationError, match="listen_ip_address"):
        validate(config)


def test_shipped_futures_config_when_loaded_then_the_spot_config_on_usdm_futures():
    futures = load_json_config(SHIPPED.with_name("config.futures.json"))
    validate(futures)
    assert (futures["trading_mode"], futures["margin_mode"]) == ("futures", "isolated")
    assert futures["exchange"]["ccxt_config"] == ccxt_config(DEFAULT_URL, "futures")
    assert whitelist_pairs(futures) == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    spot = load_json_config(SHIPPED)
    differs = {"trading_mode", "margin_mode", "exchange"}
    assert {k: v for k, v in futures.items() if k not in differs} == {
        k: v for k, v in spot.items() if k not in differs
    }


def test_ccxt_config_when_futures_then_only_linear_markets_and_unknown_mode_refused():
    assert ccxt_config(trading_mode="futures")["options"] == {"fetchMarkets": {"types": ["linear"]}}
    with pytest.raises(ValueError, match="'trading_mode' must be spot or futures, was 'margin'"):
        ccxt_config(trading_mode="margin")
