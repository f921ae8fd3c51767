"""`profitguard exchange --host`: an address other than loopback is warned about, by name."""

from __future__ import annotations

import json
import logging

import pytest

from profitguard.cli import main
from profitguard.commands.exchange import host_warning
from profitguard.tooling.exchange import server as exchange_server


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_host_warning_when_loopback_then_none(host, signed):
    assert host_warning(host, signed=signed) is None


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "exchange.lan"])
def test_host_warning_when_not_loopback_then_names_the_host(host, signed):
    assert host_warning(host, signed=signed).startswith(
        f"--host {host} is not loopback: any machine"
    )


def test_host_warning_when_keys_set_then_says_orders_can_be_placed_with_them():
    warning = host_warning("0.0.0.0", signed=True)
    assert "place orders on this account with the config's API key" in warning
    assert "checks no key" not in warning and "no API key" not in warning


def test_host_warning_when_no_keys_then_says_read_only():
    warning = host_warning("0.0.0.0", signed=False)
    assert "no orders: the config has no API key" in warning
    assert "place orders" not in warning and "checks no key" not in warning


def test_exchange_when_host_not_loopback_then_warned_at_start(tmp_path, monkeypatch, caplog):
    class NoServer:  # nothing is bound in a test: the warning comes before the server
        def __init__(self, api, host, port):
            raise exchange_server.PortInUseError(98, "not started in this test")

    monkeypatch.setattr(exchange_server, "ExchangeServer", NoServer)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"exchange": {"pair_whitelist": ["BTC/USDT"]}}))
    (tmp_path / "data").mkdir()
    with caplog.at_level(logging.WARNING, logger="profitguard.tooling.exchange"):
        status = main(["exchange", "--config", str(config), "--datadir", str(tmp_path / "data"),
                       "--host", "0.0.0.0"])  # fmt: skip
    assert status == 1
    assert "profitguard exchange: --host 0.0.0.0 is not loopback" in caplog.text
    assert "no orders: the config has no API key" in caplog.text


def test_exchange_when_host_not_loopback_and_keys_set_then_warning_names_the_key(
    tmp_path, monkeypatch, caplog
):
    class NoServer:
        def __init__(self, api, host, port):
            raise exchange_server.PortInUseError(98, "not started in this test")

    monkeypatch.setattr(exchange_server, "ExchangeServer", NoServer)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"exchange": {"pair_whitelist": ["BTC/USDT"], "key": "k",
                                               "secret": "s"}}))  # fmt: skip
    (tmp_path / "data").mkdir()
    with caplog.at_level(logging.WARNING, logger="profitguard.tooling.exchange"):
        main(["exchange", "--config", str(config), "--datadir", str(tmp_path / "data"),
              "--host", "0.0.0.0"])  # fmt: skip
    assert "place orders on this account with the config's API key" in caplog.text
    assert "checks no key" not in caplog.text
