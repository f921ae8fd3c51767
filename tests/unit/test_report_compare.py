"""The A/B table's figures and the policy strategy files of `profitguard compare`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from profitguard.report.compare_table import key, policy_figures, table_rows
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
    reference = {key(ours): 98.0, key(other): 98.0}
    figures = policy_figures("p", "d", [ours, other], reference, {})
    assert figures["r_values"] == pytest.approx([2.0, -0.5])
    assert figures["expectancy_r"] == pytest.approx(0.75)
    assert figures["win_rate"] == 0.5
    assert figures["profit_factor"] == pytest.approx(4.0)
    assert figures["max_drawdown"] == pytest.approx(0.5)
    assert figures["entries"] == 2 and figures["unmatched_entries"] == 0
    headers, rows = table_rows([figures], "USDT")
    assert headers[0] == "Policy" and rows[0][0] == "p"


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
    if policy.is_baseline:
        return
    base = tmp_path / "Base.py"
    base.write_text("class Base:\n    pass\n")
    name = write_policy(tmp_path, "Base", base, policy, index)
    source = (tmp_path / f"{name}.py").read_text()
    compile(source, name, "exec")
    assert f"class {name}(_module.Base):" in wrapper_source("Base", base, policy, name)
