"""The risk gate under the real `freqtrade backtesting`, on crafted candles.

Entries are marked in the data (volume 777 on the signal candle; Freqtrade enters
at the next candle's open), the initial stop is 2% below the entry, and a crafted
candle whose low crosses it stops the trade out: so each scenario knows which
entries the gate must let through and which it must refuse, and when.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.exchange_fixtures import last_backtest_stats, write_candles

STRATEGIES = Path(__file__).parent / "strategies"

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]  # real freqtrade backtesting and hyperopt
START = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
FLAT = (100.0, 100.0, 100.0, 100.0)
ENTRY = (100.0, 100.5, 99.5, 100.2)  # the entry candle: opens at 100, stop (98) not touched
DROP = (100.2, 100.3, 97.0, 97.5)  # the low crosses the 2% stop: stopped out at 98
RISE = (100.2, 102.5, 100.1, 102.0)  # peak 1.25R: the ladder moves the stop to breakeven
HIGH = (102.0, 102.4, 101.6, 102.0)  # stays between breakeven and TP1 (104)
MARK = 777.0


def at(index: int) -> str:
    return (START + index * STEP).strftime("%Y-%m-%d %H:%M:%S")


def rows(length: int, signals: set[int], shapes: dict[int, tuple]) -> list[list[float]]:
    """Flat candles at 100, `shapes` where given, volume 777 on the `signals`."""
    out = []
    for i in range(length):
        o, h, lo, c = shapes.get(i, FLAT)
        volume = MARK if i in signals else 10.0
        out.append([int((START + i * STEP).timestamp() * 1000), o, h, lo, c, volume])
    return out


def backtest(offline_exchange, freqtrade_workspace, tmp_path, data, *, risk, **config):
    datadir = tmp_path / "data"
    for pair, candles in data.items():
        write_candles(datadir, pair, "5m", candles)
    ws = freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=list(data),
        strategies=[STRATEGIES / "ScriptedEntries.py"],
        datadir=datadir,
        max_open_trades=10,
        fee=0.001,
        profitguard={"risk": risk},
        **config,
    )
    result = ws.run(
        "backtesting", "--strategy", "ScriptedEntries", "--cache", "none", "--export", "trades"
    )
    assert result.returncode == 0, result.stdout[-5000:]
    trades = last_backtest_stats(ws)["strategy"]["ScriptedEntries"]["trades"]
    return trades, result.stdout


def opened(trades: list[dict], pair: str | None = None) -> list[str]:
    return [t["open_date"][:19].replace("T", " ") for t in trades if pair in (None, t["pair"])]


def refusals(output: str) -> list[tuple[str, str, str]]:
    """(pair, candle time, message) of each refusal the gate logged."""
    return re.findall(r"entry refused for (\S+) \(candle ([^)]+) UTC\): (.+)", output)


def test_backtest_when_three_losses_in_a_row_then_entries_paused_until_the_cooldown(
    offline_exchange, freqtrade_workspace, tmp_path
):
    # signals at 29, 33, 37: three entries (30, 34, 38), each stopped out the candle
    # after (31, 35, 39); the third loss closes at 39 (03:15): paused for 60 minutes.
    # The signal at 41 (entry 42, 03:30) is refused; the one at 53 (entry 54, 04:30)
    # comes after the cooldown (04:15) and is let through.
    shapes = {30: ENTRY, 31: DROP, 34: ENTRY, 35: DROP, 38: ENTRY, 39: DROP}
    data = {"STK/USDT": rows(80, {29, 33, 37, 41, 53}, shapes)}
    risk = {"loss_streak_cooldown_minutes": 60}
    trades, output = backtest(
        offline_exchange, freqtrade_workspace, tmp_path, data, risk=risk, stake_amount=1000,
        dry_run_wallet=100_000,
    )  # fmt: skip

    assert opened(trades) == [at(30), at(34), at(38), at(54)]
    assert [t["exit_reason"] for t in trades[:3]] == ["stop_loss"] * 3
    assert all(t["profit_abs"] < 0 for t in trades[:3])
    assert refusals(output) == [
        ("STK/USDT", at(42)[:16], f"CONSECUTIVE_LOSSES: losses=3, limit=3, until={at(51)[:16]} UTC")
    ]
    assert "profitguard: trading state ACTIVE -> REDUCING: CONSECUTIVE_LOSSES" in output
    assert "profitguard risk gate (ScriptedEntries, last run): 5 entries checked, 1 refused" in (
        output
    )


def test_backtest_when_the_streak_goes_on_after_the_cooldown_then_one_trade_and_paused_again(
    offline_exchange, freqtrade_workspace, tmp_path
):
    # Three losses (as above), the cooldown over at 51 (04:15). Both pairs signal at 53:
    # STK enters at 54 (the one trade after the cooldown), TWO is refused while it is
    # open. STK's trade loses at 55: four in a row, paused again at once until 67
    # (05:35), so STK's entry at 58 is refused.
    shapes = {30: ENTRY, 31: DROP, 34: ENTRY, 35: DROP, 38: ENTRY, 39: DROP, 54: ENTRY, 55: DROP}
    data = {
        "STK/USDT": rows(80, {29, 33, 37, 53, 57}, shapes),
        "TWO/USDT": rows(80, {53}, {}),
    }
    risk = {"loss_streak_cooldown_minutes": 60}
    trades, output = backtest(
        offline_exchange, freqtrade_workspace, tmp_path, data, risk=risk, stake_amount=1000,
        dry_run_wallet=100_000,
    )  # fmt: skip

    assert opened(trades) == [at(30), at(34), at(38), at(54)]
    assert [t["pair"] for t in trades] == ["STK/USDT"] * 4
    assert all(t["profit_abs"] < 0 for t in trades)
    streak = "CONSECUTIVE_LOSSES: losses={}, limit=3, {}"
    assert refusals(output) == [
        ("TWO/USDT", at(54)[:16], streak.format(3, "one trade open=STK/USDT")),
        ("STK/USDT", at(58)[:16], streak.format(4, f"until={at(67)[:16]} UTC")),
    ]


def test_backtest_when_daily_loss_limit_reached_then_paused_until_the_next_utc_day(
    offline_exchange, freqtrade_workspace, tmp_path
):
    # Stake 2,000 of ~9,900: a 2% stop loses ~44 with fees (0.44%); two losses (0.89%)
    # reach the 0.8% daily limit. The entry at 287 (23:55) is refused; the one at 288
    # (00:00, a new UTC day) is let through.
    shapes = {30: ENTRY, 31: DROP, 36: ENTRY, 37: DROP}
    data = {"DAY/USDT": rows(320, {29, 35, 41, 286, 287}, shapes)}
    risk = {
        "max_daily_loss": 0.008,
        "max_stake_ratio": 0.25,
        "max_asset_exposure": 0.25,
        "max_consecutive_losses": None,
    }
    trades, output = backtest(
        offline_exchange, freqtrade_workspace, tmp_path, data, risk=risk, stake_amount=2000,
        dry_run_wallet=10_000,
    )  # fmt: skip

    assert opened(trades) == [at(30), at(36), at(288)]
    assert at(288) == "2024-01-02 00:00:00"
    loss = -(trades[0]["profit_abs"] + trades[1]["profit_abs"])
    equity = (10_000 - loss) * 0.99  # Freqtrade's tradable balance
    ratio = loss / (equity + loss)
    assert ratio >= 0.008
    message = f"DAILY_LOSS_LIMIT: loss={ratio:.1%}, limit=0.8%, until=2024-01-02 00:00 UTC"
    assert refusals(output) == [
        ("DAY/USDT", at(42)[:16], message),
        ("DAY/USDT", at(287)[:16], message),
    ]
    assert "trading state REDUCING -> ACTIVE: every limit clear" in output


def test_backtest_when_heat_and_max_positions_then_concurrent_trades_capped_and_sized(
    offline_exchange, freqtrade_workspace, tmp_path
):
    # Sizing: 0.1% of 9,900 equity at risk to a 2% stop: 4.95 units, stake 495 (not the
    # 1,000 of stake_amount). Heat limit 0.25%: two trades (0.2%) fit, a third (0.3%)
    # does not. At 30 all four pairs signal: A and B enter, C and D are refused (heat).
    # A's stop reaches breakeven at 31 (no risk left); at 40 C fits (0.2%), and D is
    # refused by the three-position limit.
    signals = {29, 39}
    data = {
        "AAA/USDT": rows(60, signals, {30: ENTRY, 31: RISE, **dict.fromkeys(range(32, 60), HIGH)}),
        "BBB/USDT": rows(60, signals, {30: ENTRY}),
        "CCC/USDT": rows(60, signals, {40: ENTRY}),
        "DDD/USDT": rows(60, signals, {}),
    }
    risk = {
        "max_heat": 0.0025,
        "max_open_positions": 3,
        "sizing": {"method": "fixed_fractional", "risk_per_trade": 0.001},
    }
    trades, output = backtest(
        offline_exchange, freqtrade_workspace, tmp_path, data, risk=risk, stake_amount=1000,
        dry_run_wallet=10_000,
    )  # fmt: skip

    assert {t["pair"]: opened([t])[0] for t in trades} == {
        "AAA/USDT": at(30),
        "BBB/USDT": at(30),
        "CCC/USDT": at(40),
    }
    for trade in trades:  # the stakes in Freqtrade's report are the sized ones
        entry = next(o for o in trade["orders"] if o["ft_is_entry"])
        assert entry["amount"] == pytest.approx(0.001 * 9_900 / 2.0, abs=0.01)
        assert trade["stake_amount"] == pytest.approx(495, abs=1)
    refused = refusals(output)
    assert [(pair, time, message.split(":")[0]) for pair, time, message in refused] == [
        ("CCC/USDT", at(30)[:16], "PORTFOLIO_HEAT"),
        ("DDD/USDT", at(30)[:16], "PORTFOLIO_HEAT"),
        ("DDD/USDT", at(40)[:16], "MAX_OPEN_POSITIONS"),
    ]
    assert refused[0][2].startswith("PORTFOLIO_HEAT: heat=0.30%, limit=0.25%, open=0.20%")
    assert refused[2][2] == "MAX_OPEN_POSITIONS: open=3, limit=3"
    summary = output[output.index("profitguard risk gate (ScriptedEntries") :].splitlines()
    assert summary[:4] == [
        "profitguard risk gate (ScriptedEntries, last run): 6 entries checked, 3 refused",
        "  rule                refused",
        "  MAX_OPEN_POSITIONS        1",
        "  PORTFOLIO_HEAT            2",
    ]


def test_hyperopt_when_epochs_run_then_each_trades_as_the_backtest_does(
    offline_exchange, freqtrade_workspace, tmp_path
):
    # The losing-streak scenario, without a cooldown (null: until resume, not hyperopt's
    # default 60 minutes): three losses, then every entry refused. A gate state leaking
    # from one epoch into the next would refuse the first entries of the next epoch;
    # each epoch must have the backtest's 3 trades.
    shapes = {30: ENTRY, 31: DROP, 34: ENTRY, 35: DROP, 38: ENTRY, 39: DROP}
    datadir = tmp_path / "data"
    write_candles(datadir, "STK/USDT", "5m", rows(80, {29, 33, 37, 41, 53}, shapes))
    ws = freqtrade_workspace(
        offline_exchange(datadir=datadir),
        pairs=["STK/USDT"],
        strategies=[STRATEGIES / "ScriptedHyper.py"],
        datadir=datadir,
        stake_amount=1000,
        dry_run_wallet=100_000,
        fee=0.001,
        profitguard={"risk": {"loss_streak_cooldown_minutes": None}},
    )
    # seeded: unseeded, the 3 draws of 9 values could repeat one, and Freqtrade then
    # ran 2 epochs (seen once beside other tests)
    result = ws.run(
        "hyperopt", "--strategy", "ScriptedHyper", "--spaces", "buy", "--epochs", "3",
        "-j", "1", "--hyperopt-loss", "SharpeHyperOptLoss", "--min-trades", "1",
        "--disable-param-export", "--random-state", "42",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:]
    (results,) = (ws.userdir / "hyperopt_results").glob("*.fthypt")
    epochs = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(epochs) == 3
    assert [e["results_metrics"]["total_trades"] for e in epochs] == [3, 3, 3]
    assert {e["results_metrics"]["profit_total_abs"] for e in epochs} == {
        epochs[0]["results_metrics"]["profit_total_abs"]
    }
