"""The margin-aware rule: with leverage, the initial stop must lie inside liquidation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from profitguard.risk import rules
from profitguard.risk.book import Account, MarginTerms, OpenPosition, Proposal
from profitguard.risk.config import RiskConfig
from profitguard.risk.pipeline import evaluate
from profitguard.risk.state import GuardState
from tests.unit.test_risk_gate import no_database  # noqa: F401  (autouse: trades in memory)

NOW = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)
TERMS = MarginTerms(leverage=10.0, maintenance_rate=0.004, maintenance_amount=0.0)


def futures_entry(*, is_short=False, stop, leverage=10.0, amount=1.0, terms=None) -> Proposal:
    rate = 100.0
    return Proposal(
        pair="BTC/USDT:USDT",
        is_short=is_short,
        rate=rate,
        amount=amount,
        stake=amount * rate / leverage,
        initial_stop=stop,
        first_target=None,
        signal_close=rate,
        margin=terms or MarginTerms(leverage=leverage, maintenance_rate=0.004),
    )


@pytest.mark.parametrize(
    ("is_short", "leverage", "expected"),
    [
        # long 10x: margin 10 per 100 of position; liq = (10 - 100) / (0.004 - 1)
        (False, 10.0, 90.0 / 0.996),
        (True, 10.0, 110.0 / 1.004),
        (False, 1.0, 0.0),  # a 1x long is never liquidated above 0
        (True, 3.0, (100 / 3 + 100) / 1.004),
    ],
)
def test_isolated_liquidation_price_when_side_and_leverage_then_binances_formula(
    is_short, leverage, expected
):
    terms = MarginTerms(leverage=leverage, maintenance_rate=0.004)
    liq = rules.isolated_liquidation_price(
        is_short=is_short, entry=100.0, amount=1.0, margin=100.0 / leverage, terms=terms
    )
    assert liq == pytest.approx(expected)


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize("leverage", [2.0, 5.0, 20.0])
@pytest.mark.parametrize("stake", [50.0, 30_000.0])  # first and a higher bracket
def test_isolated_liquidation_price_when_compared_then_freqtrades_own_figure(
    is_short, leverage, stake
):
    """Freqtrade's Binance.get_liquidation_price (dry-run: its formula on its cached
    tiers, plus its liquidation_buffer) gives the same price for the same terms."""
    from freqtrade.enums import MarginMode, RunMode, TradingMode
    from freqtrade.exchange import Binance

    from profitguard.tooling.exchange.futures import freqtrade_tiers

    exchange = object.__new__(Binance)
    exchange._config = {"runmode": RunMode.BACKTEST, "dry_run": True}
    exchange.trading_mode = TradingMode.FUTURES
    exchange.margin_mode = MarginMode.ISOLATED
    exchange.liquidation_buffer = 0.05
    exchange._exchange_ws = None  # what Exchange.__del__ reads; no loop, no sessions
    exchange._ws_async = None  # what Freqtrade 2026.1's __del__ reads
    exchange.loop = None
    pair = "BTC/USDT:USDT"
    exchange._leverage_tiers = {
        pair: [
            {"minNotional": b.notional_floor, "maintenanceMarginRate": b.maint_margin_ratio,
             "maintAmt": b.cum}
            for b in freqtrade_tiers()[pair]
        ]
    }  # fmt: skip
    rate = 60_000.0
    amount = stake * leverage / rate
    theirs = exchange.get_liquidation_price(
        pair, rate, is_short, amount, stake, leverage, wallet_balance=stake
    )
    mmr, cum = exchange.get_maintenance_ratio_and_amt(pair, stake)
    terms = MarginTerms(
        leverage=leverage, maintenance_rate=mmr, maintenance_amount=cum, buffer=0.05
    )
    ours = rules.isolated_liquidation_price(
        is_short=is_short, entry=rate, amount=amount, margin=stake, terms=terms
    )
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("is_short", [False, True])
def test_liquidation_when_stop_inside_then_passes_and_beyond_then_refused(is_short):
    liq = 90.0 / 0.996 if not is_short else 110.0 / 1.004  # 10x
    inside = liq + 0.5 if not is_short else liq - 0.5
    beyond = liq - 0.5 if not is_short else liq + 0.5
    assert rules.liquidation(1.0, futures_entry(is_short=is_short, stop=inside)).passed
    refused = rules.liquidation(1.0, futures_entry(is_short=is_short, stop=beyond))
    assert not refused.passed
    message = refused.message()
    assert message.startswith("LIQUIDATION: stop_to_liquidation=")
    assert f"liquidation={liq:.8g}" in message
    assert f"stop={beyond:.8g}" in message and "leverage=10.00" in message


def test_liquidation_when_limit_below_one_then_the_stop_keeps_that_share_of_the_room():
    liq = 90.0 / 0.996  # room 9.64 below 100
    assert rules.liquidation(0.8, futures_entry(stop=100 - 0.75 * (100 - liq))).passed
    assert not rules.liquidation(0.8, futures_entry(stop=100 - 0.85 * (100 - liq))).passed


def test_gate_when_futures_stop_beyond_liquidation_then_refused_with_figures_spot_unchecked():
    config = RiskConfig(min_reward_risk=None, min_balance=None)
    account = Account(now=NOW, equity=10_000.0)
    beyond = futures_entry(stop=85.0)  # a 10x long is liquidated near 90.4
    verdict = evaluate(config, GuardState(), account, beyond)
    assert verdict.refusal is not None and verdict.refusal.rule.value == "LIQUIDATION"
    spot = Proposal(
        pair="BTC/USDT", is_short=False, rate=100.0, amount=1.0, stake=100.0,
        initial_stop=85.0, first_target=None, signal_close=100.0,
    )  # fmt: skip
    assert evaluate(config, GuardState(), account, spot).allowed
    off = RiskConfig(min_reward_risk=None, min_balance=None, max_stop_to_liquidation=None)
    assert evaluate(off, GuardState(), account, beyond).allowed


@pytest.mark.parametrize("leverage", [1.0, 3.0, 10.0])
def test_heat_when_leverage_then_the_positions_risk_not_its_margin(leverage):
    """Heat counts amount x distance to the stop: 3x leverage ties up a third of the
    margin for the same position, and risks exactly as much."""
    account = Account(
        now=NOW,
        equity=1_000.0,
        positions=(
            OpenPosition(pair="ETH/USDT:USDT", is_short=True, entry=100.0, amount=2.0,
                         stop=105.0, stake=200.0 / leverage),
        ),
    )  # fmt: skip
    entry = futures_entry(stop=98.0, leverage=leverage, amount=5.0)
    check = rules.portfolio_heat(0.30, account, entry)
    assert check.value.value == pytest.approx((2 * 5 + 5 * 2) / 1_000)


class TieredExchange:
    """The two figures the gate asks Freqtrade's exchange for (its cached tiers)."""

    liquidation_buffer = 0.05

    def get_maintenance_ratio_and_amt(self, pair: str, notional: float):
        return 0.004, 0.0


@pytest.mark.parametrize(("leverage", "allowed"), [(10.0, True), (50.0, False)])
def test_confirm_when_futures_then_refused_only_when_the_stop_is_beyond_liquidation(
    tmp_path, leverage, allowed
):
    """Initial stop 2% below 100 (98): inside a 10x long's liquidation (about 90.9),
    beyond a 50x long's (about 98.5 with Freqtrade's 5% buffer)."""
    from tests.unit.test_risk_gate import confirm, messages, stake, started

    strategy = started(tmp_path, risk={"min_reward_risk": None})
    strategy.config["trading_mode"] = "futures"
    strategy.dp._exchange = TieredExchange()
    assert stake(strategy, leverage=leverage) > 0
    assert confirm(strategy, amount=1.0) is allowed
    if not allowed:
        assert strategy._pg_gate.refusals == {"LIQUIDATION": 1}
        (message,) = messages(strategy)
        assert "LIQUIDATION: stop_to_liquidation=" in message
        assert "stop=98, liquidation=98.4" in message and "leverage=50.00" in message
