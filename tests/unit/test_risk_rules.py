"""Every rule of the risk gate at, just below and just above its limit."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import pytest

from profitguard.risk import rules
from profitguard.risk.book import Account, ClosedTrade, OpenPosition, Proposal
from profitguard.risk.checks import Rule
from profitguard.risk.rules import Correlation, Period

NOW = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)  # a Wednesday


def position(
    pair="BTC/USDT",
    *,
    entry=100.0,
    amount=1.0,
    stop=98.0,
    stake=None,
    is_short=False,
    opened_at=None,
) -> OpenPosition:
    return OpenPosition(
        pair=pair,
        opened_at=opened_at,
        is_short=is_short,
        entry=entry,
        amount=amount,
        stop=stop,
        stake=entry * amount if stake is None else stake,
    )


def proposal(
    pair="ETH/USDT",
    *,
    rate=100.0,
    amount=1.0,
    stop=98.0,
    target=104.0,
    close=100.0,
    confidence=None,
    is_short=False,
    stake=None,
) -> Proposal:
    return Proposal(
        pair=pair,
        is_short=is_short,
        rate=rate,
        amount=amount,
        stake=rate * amount if stake is None else stake,
        initial_stop=stop,
        first_target=target,
        signal_close=close,
        confidence=confidence,
    )


def account(equity=10_000.0, positions=(), closed=(), now=NOW) -> Account:
    return Account(now=now, equity=equity, positions=tuple(positions), closed=tuple(closed))


def closed(profit: float, at: datetime = NOW - timedelta(hours=1)) -> ClosedTrade:
    return ClosedTrade(pair="X/USDT", closed_at=at, profit=profit)


# ------------------------------------------------------------ minimum balance


@pytest.mark.parametrize(("equity", "passed"), [(99.99, False), (100.0, True), (100.01, True)])
def test_min_balance_when_equity_around_the_minimum_then_refused_only_below(equity, passed):
    check = rules.min_balance(100.0, equity)
    assert check.passed is passed
    assert check.evidence == {"equity": equity, "limit": 100.0}


def test_min_balance_when_refused_then_message_names_equity_and_limit():
    assert rules.min_balance(100.0, 99.5).message() == "MIN_BALANCE: equity=99.50, limit=100.00"


# --------------------------------------------------------- realized loss limits

PERIODS = [
    (Period.DAY, 0.05, datetime(2024, 3, 14, tzinfo=UTC), datetime(2024, 3, 13, tzinfo=UTC)),
    (Period.WEEK, 0.10, datetime(2024, 3, 18, tzinfo=UTC), datetime(2024, 3, 11, tzinfo=UTC)),
    (Period.MONTH, 0.20, datetime(2024, 4, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize(("period", "limit", "end", "start"), PERIODS)
@pytest.mark.parametrize(("loss_share", "passed"), [(0.999, True), (1.0, False), (1.001, False)])
def test_period_loss_when_loss_around_the_limit_then_paused_once_reached(
    period, limit, end, start, loss_share, passed
):
    loss = 10_000 * limit * loss_share  # of the 10,000 the period started with
    check = rules.period_loss(limit, period, account(10_000 - loss, closed=[closed(-loss)]))
    assert check.rule is rules.PERIOD_RULE[period]
    assert check.passed is passed
    assert check.evidence["loss"] == pytest.approx(limit * loss_share)
    if not passed:
        assert check.evidence["until"] == end  # paused until the period rolls over


@pytest.mark.parametrize(("period", "limit", "end", "start"), PERIODS)
def test_period_loss_when_loss_closed_before_the_period_then_not_counted(period, limit, end, start):
    before = closed(-5_000, at=start - timedelta(seconds=1))
    at_start = closed(-1, at=start)
    check = rules.period_loss(limit, period, account(4_999, closed=[before, at_start]))
    assert check.passed
    assert check.evidence["loss"] == pytest.approx(1 / 5_000)


def test_period_loss_when_wins_offset_losses_then_net_counts():
    trades = [closed(-600), closed(+200)]  # net -400 of 10,000: 4%
    check = rules.period_loss(0.05, Period.DAY, account(9_600, closed=trades))
    assert check.passed
    assert check.evidence["loss"] == pytest.approx(0.04)


def test_period_loss_when_refused_then_message_as_the_spec_shows_it():
    check = rules.period_loss(0.05, Period.DAY, account(9_470, closed=[closed(-530)]))
    assert check.message() == (
        "DAILY_LOSS_LIMIT: loss=5.3%, limit=5.0%, until=2024-03-14 00:00 UTC"
    )


def test_period_loss_when_next_utc_day_then_rolls_over():
    yesterday = closed(-600, at=datetime(2024, 3, 12, 23, 59, tzinfo=UTC))
    today = account(9_400, closed=[yesterday], now=datetime(2024, 3, 13, 0, 0, tzinfo=UTC))
    late = account(9_400, closed=[yesterday], now=datetime(2024, 3, 12, 23, 59, 30, tzinfo=UTC))
    assert rules.period_loss(0.05, Period.DAY, today).passed
    assert not rules.period_loss(0.05, Period.DAY, late).passed


@pytest.mark.parametrize(
    ("now", "period", "start"),
    [
        (datetime(2024, 3, 10, 23, 59, tzinfo=UTC), Period.WEEK, datetime(2024, 3, 4, tzinfo=UTC)),
        (datetime(2024, 3, 11, 0, 0, tzinfo=UTC), Period.WEEK, datetime(2024, 3, 11, tzinfo=UTC)),
        (datetime(2024, 12, 31, 12, tzinfo=UTC), Period.MONTH, datetime(2024, 12, 1, tzinfo=UTC)),
    ],
)
def test_period_start_when_utc_boundaries_then_monday_and_first_of_month(now, period, start):
    assert rules.period_start(now, period) == start


def test_period_end_when_december_then_january_of_next_year():
    end = rules.period_end(datetime(2024, 12, 31, 12, tzinfo=UTC), Period.MONTH)
    assert end == datetime(2025, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------ losing streak


def streak_trades(*profits: float) -> list[ClosedTrade]:
    return [closed(p, at=NOW - timedelta(hours=len(profits) - i)) for i, p in enumerate(profits)]


@pytest.mark.parametrize(
    ("profits", "losses", "passed"),
    [
        ((-1, -1), 2, True),
        ((-1, -1, -1), 3, False),
        ((-1, -1, -1, -1), 4, False),
        ((-1, -1, 5, -1, -1), 2, True),  # a winner restarts the count
        ((-1, -1, 0.0), 0, True),  # profit 0 is not a loss
    ],
)
def test_loss_streak_when_losses_in_a_row_around_the_limit_then_paused_at_it(
    profits, losses, passed
):
    check = rules.loss_streak(3, account(closed=streak_trades(*profits)), since=None, cooldown=None)
    assert check.passed is passed
    assert check.evidence["losses"] == losses
    if not passed:
        assert check.evidence["until"] == "reset"


def test_loss_streak_when_reset_after_the_losses_then_count_restarts():
    trades = streak_trades(-1, -1, -1, -1)
    since = trades[1].closed_at  # reset after the second loss: two count
    check = rules.loss_streak(3, account(closed=trades), since=since, cooldown=None)
    assert check.passed
    assert check.evidence["losses"] == 2


def test_loss_streak_when_paused_without_cooldown_then_a_later_win_does_not_lift_it():
    check = rules.loss_streak(
        3, account(closed=streak_trades(-1, -1, -1, +5)), since=None, cooldown=None
    )
    assert not check.passed


@pytest.mark.parametrize(
    ("after", "passed"),
    [(timedelta(minutes=59), False), (timedelta(minutes=60), True), (timedelta(minutes=61), True)],
)
def test_loss_streak_when_cooldown_then_paused_until_it_passes(after, passed):
    third = NOW - timedelta(hours=1)
    trades = [closed(-1, at=third - timedelta(hours=2)), closed(-1, at=third - timedelta(hours=1)),
              closed(-1, at=third)]  # fmt: skip
    check = rules.loss_streak(
        3, account(closed=trades, now=third + after), since=None, cooldown=timedelta(hours=1)
    )
    assert check.passed is passed
    if not passed:
        assert check.evidence["until"] == third + timedelta(hours=1)
    assert check.evidence["losses"] == 3  # the streak is not forgotten after the cooldown


def cooled_down(*profits_after, positions=()):
    """Three losses an hour apart, a one-hour cooldown over, then `profits_after` closing
    every 10 minutes from the cooldown's end; checked 5 minutes after the last (or after
    the cooldown's end)."""
    third = NOW - timedelta(hours=5)
    trades = [closed(-1, at=third - timedelta(hours=h)) for h in (2, 1, 0)]
    end = third + timedelta(hours=1)
    trades += [
        closed(p, at=end + timedelta(minutes=10 * (i + 1))) for i, p in enumerate(profits_after)
    ]
    now = max(trades[-1].closed_at, end) + timedelta(minutes=5)
    acct = account(closed=trades, now=now, positions=positions)
    return rules.loss_streak(3, acct, since=None, cooldown=timedelta(hours=1)), end


def test_loss_streak_when_cooldown_over_then_one_trade_at_a_time():
    cooled, end = cooled_down()
    assert cooled.passed  # the first trade after the cooldown may open
    older = position("BTC/USDT", opened_at=end - timedelta(minutes=1))
    assert cooled_down(positions=[older])[0].passed  # opened before: not the one trade
    probe = position("ETH/USDT", opened_at=end + timedelta(minutes=1))
    waiting, _ = cooled_down(positions=[older, probe])
    assert not waiting.passed
    assert waiting.message() == ("CONSECUTIVE_LOSSES: losses=3, limit=3, one trade open=ETH/USDT")


def test_loss_streak_when_a_loss_closes_after_the_cooldown_then_paused_again_at_once():
    check, end = cooled_down(-1)
    assert not check.passed
    assert check.evidence["losses"] == 4
    assert check.evidence["until"] == end + timedelta(minutes=10) + timedelta(hours=1)


def test_loss_streak_when_a_win_closes_after_the_cooldown_then_the_streak_is_over():
    check, _ = cooled_down(-1, +2)
    assert check.passed and check.evidence["losses"] == 0


def test_losing_streak_when_trades_close_later_than_now_then_ignored():
    future = closed(-1, at=NOW + timedelta(minutes=1))
    streak = rules.losing_streak(1, [*streak_trades(5), future], since=None, now=NOW, cooldown=None)
    assert not streak.paused


# ------------------------------------------------------------- entry limits


@pytest.mark.parametrize(("open_count", "passed"), [(4, True), (5, False), (6, False)])
def test_max_positions_when_open_count_around_the_limit_then_refused_at_it(open_count, passed):
    check = rules.max_positions(5, open_count)
    assert check.passed is passed
    assert check.message() == f"MAX_OPEN_POSITIONS: open={open_count}, limit=5"


@pytest.mark.parametrize(("stake", "passed"), [(999.99, True), (1000.0, True), (1000.01, False)])
def test_stake_cap_when_stake_around_the_cap_then_refused_above_it(stake, passed):
    check = rules.stake_cap(0.10, 10_000, stake)
    assert check.passed is passed


def test_stake_cap_when_refused_then_message_tells_the_two_apart():
    assert rules.stake_cap(0.10, 10_000, 1000.01).message() == (
        "STAKE_CAP: stake=10.0001%, limit=10.0000%, amount=1000.01"
    )


@pytest.mark.parametrize(("stake", "passed"), [(999.0, True), (1000.0, True), (1001.0, False)])
def test_asset_exposure_when_same_base_around_the_limit_then_refused_above_it(stake, passed):
    held = [position("BTC/USDT", stake=1000.0), position("ETH/USDT", stake=5000.0)]
    check = rules.asset_exposure(0.20, account(positions=held), proposal("BTC/USDT", stake=stake))
    assert check.passed is passed
    assert check.evidence["asset"] == "BTC"
    assert check.evidence["exposure"] == pytest.approx((1000 + stake) / 10_000)


def test_asset_exposure_when_other_quote_of_the_same_base_then_counted():
    held = [position("BTC/USDC:USDC", stake=1500.0)]
    check = rules.asset_exposure(0.20, account(positions=held), proposal("BTC/USDT", stake=600))
    assert not check.passed


@pytest.mark.parametrize(("entry_risk", "passed"), [(99.0, True), (100.0, True), (101.0, False)])
def test_portfolio_heat_when_total_risk_around_the_limit_then_refused_above_it(entry_risk, passed):
    held = [position(amount=1450.0, entry=100.0, stop=98.0)]  # 2,900 at risk: 29%
    check = rules.portfolio_heat(
        0.30, account(positions=held), proposal(amount=entry_risk / 2.0, stop=98.0)
    )
    assert check.passed is passed
    assert check.evidence["open"] == pytest.approx(0.29)


@pytest.mark.parametrize("is_short", [False, True])
def test_heat_when_stop_at_or_beyond_entry_then_position_adds_no_risk(is_short):
    sign = -1 if is_short else 1
    locked = position(entry=100, amount=10, stop=100 + sign * 1, is_short=is_short)
    at_risk = position(entry=100, amount=10, stop=100 - sign * 2, is_short=is_short)
    assert locked.risk == 0
    assert at_risk.risk == pytest.approx(20)
    assert account(positions=[locked, at_risk]).heat == pytest.approx(20 / 10_000)


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize(("reward", "passed"), [(2.98, False), (3.0, True), (3.02, True)])
def test_reward_risk_when_first_target_around_the_minimum_then_refused_below(
    is_short, reward, passed
):
    sign = -1 if is_short else 1
    p = proposal(stop=100 - sign * 2, target=100 + sign * reward, is_short=is_short)
    check = rules.reward_risk(1.5, p)
    assert check.passed is passed
    assert check.evidence["reward_risk"] == pytest.approx(reward / 2)


def test_reward_risk_when_exits_have_no_target_then_refused():
    check = rules.reward_risk(1.5, proposal(target=None))
    assert not check.passed
    assert "target=none" in check.message()


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize(("worse", "passed"), [(0.49, True), (0.5, True), (0.51, False)])
def test_entry_slippage_when_around_the_limit_then_refused_above(is_short, worse, passed):
    sign = -1 if is_short else 1
    check = rules.entry_slippage(0.005, proposal(rate=100 + sign * worse, is_short=is_short))
    assert check.passed is passed
    assert check.evidence["slippage"] == pytest.approx(worse / 100)


def test_entry_slippage_when_entry_better_than_the_close_then_allowed():
    assert rules.entry_slippage(0.005, proposal(rate=97.0)).passed


@pytest.mark.parametrize("close", [None, math.nan, 0.0])
def test_entry_slippage_when_signal_close_unknown_then_refused(close):
    assert not rules.entry_slippage(0.005, proposal(close=close)).passed


@pytest.mark.parametrize(
    ("confidence", "passed"),
    [(None, True), (0.69, False), (0.70, True), (0.71, True), (math.nan, False)],
)
def test_signal_confidence_when_around_the_minimum_then_refused_below(confidence, passed):
    assert rules.signal_confidence(0.70, confidence).passed is passed


@pytest.mark.parametrize(("correlated", "passed"), [(1, True), (2, False), (3, False)])
def test_correlated_positions_when_count_around_the_limit_then_refused_at_it(correlated, passed):
    correlations = [Correlation(f"P{i}/USDT", 0.9, 50) for i in range(correlated)]
    correlations.append(Correlation("LOW/USDT", 0.3, 50))
    check = rules.correlated_positions(2, 0.8, 20, correlations)
    assert check.passed is passed
    assert check.evidence["correlated"] == correlated


@pytest.mark.parametrize("value", [0.8, -0.9])  # at the threshold; moving the other way
def test_correlated_positions_when_not_above_the_threshold_then_not_counted(value):
    check = rules.correlated_positions(1, 0.8, 20, [Correlation("A/USDT", value, 50)])
    assert check.passed


@pytest.mark.parametrize(("samples", "passed"), [(19, False), (20, True), (21, True)])
def test_correlated_positions_when_history_around_the_minimum_then_refused_below(samples, passed):
    check = rules.correlated_positions(2, 0.8, 20, [Correlation("A/USDT", 0.1, samples)])
    assert check.passed is passed


def test_pearson_when_series_move_together_apart_or_not_at_all_then_1_minus1_and_0():
    a = [0.01, -0.02, 0.03, 0.0, 0.01]
    assert rules.pearson(a, [2 * x for x in a]) == pytest.approx(1.0)
    assert rules.pearson(a, [-x for x in a]) == pytest.approx(-1.0)
    assert rules.pearson(a, [0.0] * 5) == 0.0
    with pytest.raises(ValueError, match="different lengths: 5 and 4"):
        rules.pearson(a, a[:4])


def test_returns_when_closes_then_simple_returns():
    assert rules.returns([100.0, 110.0, 99.0]) == pytest.approx([0.1, -0.1])


@pytest.mark.parametrize("is_short", [False, True])
@pytest.mark.parametrize(
    ("distance", "tick", "fee", "passed"),
    [
        (6.5e-13, 0.01, 0.001, False),  # under one tick (issue 26's tiny ATR)
        (0.02, 0.01, None, False),  # 2 ticks < 3
        (0.03, 0.01, None, True),  # 3 ticks, fees unknown
        (0.15, 0.01, 0.001, False),  # 15 ticks, but under the round trip's fees (~0.2)
        (0.25, 0.01, 0.001, True),
        (0.25, None, 0.001, True),  # no tick: the fees alone
        (0.15, None, 0.001, False),
    ],
)
def test_stop_too_close_when_within_ticks_or_fees_then_refused_with_the_figures(
    is_short, distance, tick, fee, passed
):
    sign = -1 if is_short else 1
    p = dataclasses.replace(
        proposal(stop=100 - sign * distance, is_short=is_short), tick=tick, fee=fee
    )
    check = rules.stop_too_close(3, 1.0, p)
    assert check.passed is passed
    assert check.rule is Rule.STOP_TOO_CLOSE
    assert check.evidence["distance"] == pytest.approx(distance)
    fees = fee * (200 - sign * distance) if fee is not None else "unknown"
    assert check.evidence["fees"] == (pytest.approx(fees) if fee is not None else fees)
    assert check.message().startswith("STOP_TOO_CLOSE: distance=")
    assert ", min=" in check.message() and ", tick=" in check.message()


def test_stop_too_close_when_fee_part_off_then_ticks_alone():
    p = dataclasses.replace(proposal(stop=99.9), tick=0.01, fee=0.001)
    assert not rules.stop_too_close(3, 1.0, p).passed  # 0.1 < 0.1999 of fees
    assert rules.stop_too_close(3, None, p).passed  # 10 ticks
    assert not rules.stop_too_close(11, None, p).passed
