"""The A/B table's figures and the policy strategy files of `profitguard compare`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from profitguard.report import same_entries
from profitguard.report.analytics import take_profit_shortfall
from profitguard.report.build import build_report
from profitguard.report.compare_table import policy_figures, table_rows, tp_fill_note, verdict
from profitguard.report.figures import summarize_r, trade_key
from profitguard.report.policies import default_policies, wrapper_source, write_policy
from profitguard.report.records import from_backtest_trade
from tests.unit.test_report_r import T0, export_trade


def test_policy_figures_when_tighter_stop_then_r_against_the_reference_stop():
    # the policy's own stop is 99 (1%), the strategy's 98: R uses 98 (one R = 2)
    ours = from_backtest_trade(export_trade(stop=99.0, exits=((1.0, 104.0, "tp1"),), fee=0.0))
    other = from_backtest_trade(
        export_trade(
            stop=99.0, exits=((1.0, 99.0, "stop_loss"),), fee=0.0, opened=T0 + timedelta(days=1)
        )
    )
    reference = {trade_key(ours): 98.0, trade_key(other): 98.0}
    figures = policy_figures("p", "d", [ours, other], reference)
    assert figures["r_values"] == pytest.approx([2.0, -0.5])
    assert figures["expectancy_r"] == pytest.approx(0.75)
    assert figures["win_rate"] == 0.5
    assert figures["profit_factor"] == pytest.approx(4.0)
    assert figures["max_drawdown"] == pytest.approx(0.5)
    assert figures["entries"] == 2 and figures["unmatched_entries"] == 0
    # money beside R: +4 and -1 in quote currency, one R = 2 for both trades
    assert figures["profit_abs"] == pytest.approx(3.0)
    assert figures["profit_factor_abs"] == pytest.approx(4.0)
    assert figures["max_drawdown_abs"] == pytest.approx(1.0)
    assert figures["risk_per_trade_abs"] == pytest.approx(2.0)
    assert not figures["money_disagrees"]
    headers, rows = table_rows([figures], "USDT")
    assert headers[0] == "Policy" and rows[0][0] == "p"
    assert "Profit USDT" in headers and "Profit factor (USDT)" in headers
    assert rows[0][headers.index("Total R")] == "+1.50"
    assert rows[0][headers.index("Profit USDT")] == "+3.00"


def _trade(entry, stop, amount, exit_price, day, pair="BTC/USDT"):
    return from_backtest_trade(
        export_trade(
            entry=entry,
            stop=stop,
            amount=amount,
            exits=((amount, exit_price, "stop_loss" if exit_price < entry else "tp1"),),
            fee=0.0,
            opened=T0 + timedelta(days=day),
            pair=pair,
        )
    )


def test_verdict_when_money_and_r_disagree_in_sign_then_said_beside_the_winner():
    # a fixed stake: the +1R winner was sized on a wide stop (small amount), the -0.5R
    # loser on a tight one: +0.5 R in total, but money lost (+1 - 5 = -4)
    won = _trade(100.0, 90.0, 0.1, 110.0, 0)  # risk 1, +1 = +1R
    lost = _trade(100.0, 99.0, 10.0, 99.5, 1)  # risk 10, -5 = -0.5R
    reference = {trade_key(t): t.initial_stop for t in (won, lost)}
    fixed_stake = policy_figures("fixed stake", "d", [won, lost], reference)
    assert fixed_stake["total_r"] == pytest.approx(0.5)
    assert fixed_stake["profit_abs"] == pytest.approx(-4.0)
    assert fixed_stake["money_disagrees"]
    even = _trade(100.0, 99.0, 1.0, 100.0, 2)  # 0 R, 0 money
    flat = policy_figures("flat", "d", [even], {trade_key(even): 99.0})
    lines = verdict([flat, fixed_stake])
    assert lines[0].startswith("highest expectancy: fixed stake (+0.250 R")
    assert any("R and money disagree in sign" in line and "fixed stake" in line for line in lines)
    assert any(line.startswith("most money: flat") for line in lines)
    _, rows = table_rows([fixed_stake])
    assert rows[0][0] == "fixed stake (!)"


def test_verdict_when_sized_by_risk_then_money_is_r_times_the_unit():
    # every entry sized to lose the same unit at its stop: money and R agree trade by trade
    unit = 10.0
    trades = []
    for day, (entry, stop, exit_price) in enumerate(
        [(100.0, 90.0, 110.0), (100.0, 99.0, 99.5), (50.0, 49.0, 53.0)]
    ):
        amount = same_entries.risk_stake(unit, rate=entry, initial_stop=stop) / entry
        trades.append(_trade(entry, stop, amount, exit_price, day))
    reference = {trade_key(t): t.initial_stop for t in trades}
    figures = policy_figures("risk", "d", trades, reference)
    assert figures["profit_abs"] == pytest.approx(figures["total_r"] * unit)
    assert figures["max_drawdown_abs"] == pytest.approx(figures["max_drawdown"] * unit)
    assert not figures["money_disagrees"]
    assert [line for line in verdict([figures]) if "disagree" in line] == []


def test_summarize_r_when_report_and_compare_then_one_summary():
    trades = [_trade(100.0, 98.0, 1.0, p, d) for d, p in enumerate([104.0, 97.0, 101.0])]
    report = build_report(trades, None, source="t")
    reference = {trade_key(t): t.initial_stop for t in trades}
    compare = policy_figures("p", "d", trades, reference)
    one = summarize_r([t.r for t in report.trades])
    for name in ("expectancy_r", "total_r", "win_rate", "profit_factor", "sqn", "avg_win_r"):
        assert getattr(report.summary, name) == getattr(one, name) == compare[name]
    assert report.summary.max_drawdown_r == one.max_drawdown_r == compare["max_drawdown"]


def test_trade_key_when_same_second_then_ms_tell_entries_apart():
    a = _trade(100.0, 98.0, 1.0, 104.0, 0)
    b = from_backtest_trade(
        export_trade(opened=T0 + timedelta(milliseconds=500), exits=((1.0, 104.0, "tp1"),))
    )
    assert trade_key(a) != trade_key(b)
    assert trade_key(a) == ("BTC/USDT", int(T0.timestamp() * 1000), False)


@pytest.mark.parametrize(
    ("wallet", "currency", "unit"),
    [(1000, "USDT", 10.0), ({"USDT": 500, "BTC": 1}, "USDT", 5.0), (None, "USDT", 10.0)],
)
def test_risk_unit_when_wallet_set_then_one_percent_of_it(wallet, currency, unit):
    config = {"stake_currency": currency}
    if wallet is not None:
        config["dry_run_wallet"] = wallet
    assert same_entries.risk_unit(config) == pytest.approx(unit)


@pytest.mark.parametrize(
    ("wallet", "match"),
    [({"BTC": 1}, "has no 'USDT'"), (0, "must be a number > 0, was 0"), ("x", "was 'x'")],
)
def test_risk_unit_when_wallet_bad_then_error_names_it(wallet, match):
    with pytest.raises(ValueError, match=match):
        same_entries.risk_unit({"stake_currency": "USDT", "dry_run_wallet": wallet})


@pytest.mark.parametrize("stake", ["unlimited", 100, 0.5])
def test_entry_settings_when_any_stake_setting_then_replaced_by_a_number(stake):
    user = {"stake_amount": stake, "max_open_trades": 3}
    merged = user | same_entries.entry_settings(10.0)
    assert merged["stake_amount"] == 10.0 and merged["max_open_trades"] == -1
    sizing = merged["profitguard"]["risk"]["sizing"]
    assert sizing == {"method": "fixed", "fixed_stake": merged["dry_run_wallet"]}


@pytest.mark.parametrize("is_short", [False, True])
def test_risk_stake_when_sized_then_loses_the_unit_at_the_stop(is_short):
    rate, distance, leverage = 200.0, 4.0, 3.0
    stop = rate + distance if is_short else rate - distance
    stake = same_entries.risk_stake(10.0, rate=rate, initial_stop=stop, leverage=leverage)
    amount = stake * leverage / rate
    assert amount * distance == pytest.approx(10.0)
    with pytest.raises(ValueError, match="no risk to size on"):
        same_entries.risk_stake(10.0, rate=rate, initial_stop=rate)


def test_default_policies_when_listed_then_four_with_the_baseline_first():
    policies = default_policies()
    assert [p.name for p in policies] == [
        "strategy",
        "scaled_pct",
        "fixed 2%/5%",
        "freqtrade trailing",
    ]
    assert policies[0].is_baseline and not any(p.is_baseline for p in policies[1:])


@pytest.mark.parametrize("index", range(4))
def test_wrapper_source_when_written_then_valid_python_naming_its_class(tmp_path: Path, index):
    policy = default_policies()[index]
    base = tmp_path / "Base.py"
    base.write_text("class Base:\n    pass\n")
    name = write_policy(tmp_path, "Base", base, policy, index, 10.0)
    source = (tmp_path / f"{name}.py").read_text()
    compile(source, name, "exec")
    assert f"class {name}(_module.Base):" in wrapper_source("Base", base, policy, name, 10.0)
    assert "def pg_custom_stake_amount" in source  # the baseline is sized by risk too


def test_wrapper_stake_when_fixed_stop_policy_then_sized_on_the_strategys_own_stop(tmp_path):
    """The fixed 2% policy stops at 2%, but its entries are sized on the strategy's stop."""
    base = tmp_path / "Base.py"
    base.write_text(
        "class Base:\n"
        "    def initial_stop(self, pair, side, entry_rate, current_time, dataframe, **kw):\n"
        "        return entry_rate - 5.0\n"
        "    def analyzed(self, pair):\n"
        "        return None\n"
    )
    fixed = default_policies()[2]
    name = write_policy(tmp_path, "Base", base, fixed, 2, 10.0)
    namespace: dict = {}
    exec(compile((tmp_path / f"{name}.py").read_text(), name, "exec"), namespace)
    policy = namespace[name]()
    assert policy.initial_stop("P", "long", 100.0, None, None) == pytest.approx(98.0)
    stake = policy.pg_custom_stake_amount("P", None, 100.0, 1.0, None, 1e9, 1.0, None, "long")
    assert stake / 100.0 * 5.0 == pytest.approx(10.0)  # loses 10 at the strategy's stop


def test_tp_fill_note_when_levels_filled_late_then_shortfall_in_r_and_share_of_gap():
    from profitguard.engine import R_LADDER

    # 2R level at 104 (stop 98), filled at the next open 103: 0.5R short on half
    trade = from_backtest_trade(
        export_trade(
            exits=((0.5, 103.0, "tp1"), (0.5, 100.0, "stop_loss")), fee=0.0, max_rate=104.5
        )
    )
    shortfall = take_profit_shortfall([trade], R_LADDER)
    assert [(s.level, s.fills) for s in shortfall] == [("tp1", 1)]
    assert shortfall[0].shortfall_r == pytest.approx(0.25)
    own = {"name": "strategy", "expectancy_r": -0.25}
    other = {"name": "scaled_pct", "expectancy_r": 0.25}
    note = tp_fill_note(shortfall, 1, [own, other])
    assert (
        "gave up 0.250 R per trade" in note
        and "50.0% of its 0.500 R per trade behind scaled_pct" in note
    )
    assert 'exits.tp_orders: "limit"' in note
    gained = tp_fill_note([type(shortfall[0])("tp1", 1, -0.1)], 1, [own, other])
    assert "gained the strategy's ladder 0.100 R per trade" in gained and "behind" not in gained
