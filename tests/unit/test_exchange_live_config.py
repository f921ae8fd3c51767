"""The live-mode settings of `profitguard exchange`: the account and the fault flags."""

from __future__ import annotations

import json

import pytest

from profitguard.cli import main
from profitguard.tooling.exchange.private import account_from_config


def test_account_from_config_when_key_and_secret_then_credentials_and_wallet_balance():
    credentials, balances = account_from_config(
        {"stake_currency": "USDT", "dry_run_wallet": 2500,
         "exchange": {"key": "k", "secret": "s"}}
    )  # fmt: skip
    assert (credentials.key, credentials.secret, balances) == ("k", "s", {"USDT": 2500.0})
    assert "s" not in repr(credentials).replace("Credentials", "")


def test_account_from_config_when_wallet_per_asset_then_each_funded():
    _, balances = account_from_config(
        {"dry_run_wallet": {"USDT": 100, "BTC": 0.5}, "exchange": {"key": "k", "secret": "s"}}
    )
    assert balances == {"USDT": 100.0, "BTC": 0.5}


@pytest.mark.parametrize("exchange", [{}, {"key": "k", "secret": ""}, {"key": "", "secret": "s"}])
def test_account_from_config_when_no_key_then_no_account(exchange):
    assert account_from_config({"exchange": exchange}) == (None, {})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        (json.dumps({"faults": [{"kind": "slowly", "count": 1}]}), "Did you mean 'slow'"),
        (json.dumps({"faults": [{"kind": "drop"}]}), "'probability' or 'count'"),
    ],
)
def test_exchange_cli_when_bad_fault_file_then_usage_error_naming_it(
    tmp_path, capsys, content, message
):
    faults = tmp_path / "faults.json"
    faults.write_text(content)
    status = main(["exchange", "--datadir", str(tmp_path), "--faults", str(faults)])
    assert status == 2
    assert message in capsys.readouterr().err


def test_exchange_cli_when_fault_seed_without_faults_then_usage_error(tmp_path, capsys):
    assert main(["exchange", "--datadir", str(tmp_path), "--fault-seed", "3"]) == 2
    assert "--fault-seed needs --faults" in capsys.readouterr().err


def test_exchange_cli_when_no_host_then_loopback_default():
    from profitguard.cli import build_parser

    args = build_parser("exchange").parse_args(["exchange"])
    assert args.host == "127.0.0.1"
