"""The watchdog's decisions: trades without a resting stop, or without prices."""

from datetime import UTC, datetime, timedelta

import pytest

from profitguard.engine import ConfigError
from profitguard.freqtrade.operate_settings import WatchdogSettings
from profitguard.freqtrade.watchdog import STALE_PRICE, UNPROTECTED, TradeSight, Watchdog

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sight(resting: bool, changed: datetime | None = T0, trade_id: int = 1) -> TradeSight:
    return TradeSight(trade_id, "BTC/USDT", resting, changed)


def loops(dog: Watchdog, pattern: str, start: datetime = T0) -> list[tuple[list, list]]:
    """One check per character: 'S' a stop rests, '-' none."""
    return [dog.check([sight(c == "S", start)], start) for c in pattern]


@pytest.mark.parametrize(
    ("pattern", "alert_at"),
    [("---", None), ("----", 3), ("S---S---", None), ("S----", 4), ("--S----", 6)],
)
def test_watchdog_when_no_stop_for_more_than_limit_loops_then_reported_once(pattern, alert_at):
    dog = Watchdog(WatchdogSettings(unprotected_loops=3), stop_on_exchange=True)
    results = loops(dog, pattern)
    reported = [i for i, (new, _) in enumerate(results) if new]
    assert reported == ([] if alert_at is None else [alert_at])
    if alert_at is not None:
        assert all(new == [] for new, _ in loops(dog, "--"))  # once, while it lasts
        alert = results[alert_at][0][0]
        assert alert.code == UNPROTECTED and alert.trade_id == 1
        assert "no stop order on the exchange for 4 loops (limit 3)" in alert.message
        assert all(a.code == UNPROTECTED for a in dog.active)


def test_watchdog_when_protected_again_then_alert_cleared_and_reported_again_later():
    dog = Watchdog(WatchdogSettings(unprotected_loops=1), stop_on_exchange=True)
    results = loops(dog, "--S--")
    assert [bool(new) for new, _ in results] == [False, True, False, False, True]
    dog.check([sight(True)], T0)
    assert dog.active == []


@pytest.mark.parametrize(("action", "closes"), [("report", False), ("exit", True)])
def test_watchdog_when_action_exit_then_unprotected_trade_is_to_close(action, closes):
    dog = Watchdog(WatchdogSettings(unprotected_loops=2, action=action), stop_on_exchange=True)
    results = loops(dog, "----")
    assert [close for _, close in results] == [[], [], [1] if closes else [], [1] if closes else []]


def test_watchdog_when_stop_not_on_exchange_then_never_unprotected():
    dog = Watchdog(WatchdogSettings(unprotected_loops=1), stop_on_exchange=False)
    assert all(new == [] for new, _ in loops(dog, "------"))


def test_watchdog_when_price_unchanged_past_limit_then_stale_price_reported_once():
    dog = Watchdog(WatchdogSettings(stale_price_s=60), stop_on_exchange=False)
    assert dog.check([sight(False, T0)], T0 + timedelta(seconds=60)) == ([], [])
    new, close = dog.check([sight(False, T0)], T0 + timedelta(seconds=61))
    assert [a.code for a in new] == [STALE_PRICE] and close == []
    assert "has not changed for 61 s (limit 60 s)" in new[0].message
    assert dog.check([sight(False, T0)], T0 + timedelta(seconds=90))[0] == []
    later = T0 + timedelta(seconds=95)
    assert dog.check([sight(False, later)], later + timedelta(seconds=1)) == ([], [])
    assert dog.active == []


def test_watchdog_when_trade_closes_then_its_count_is_forgotten():
    dog = Watchdog(WatchdogSettings(unprotected_loops=2), stop_on_exchange=True)
    loops(dog, "--")
    dog.check([], T0)
    assert dog.unprotected == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"unprotected_loops": 0},
         "'profitguard.watchdog.unprotected_loops' must be an integer >= 1, was 0"),
        ({"unprotected_loops": True}, "must be an integer >= 1, was True"),
        ({"action": "close"},
         "'profitguard.watchdog.action' must be one of report, exit, was 'close'"),
        ({"stale_price_s": -1},
         "'profitguard.watchdog.stale_price_s' must be a number of seconds > 0, was -1"),
        ({"unprotected_loop": 3}, "unknown setting 'profitguard.watchdog.unprotected_loop'. "
         "Did you mean 'unprotected_loops'?"),
    ],
)  # fmt: skip
def test_watchdog_settings_when_invalid_then_error_names_field_and_value(raw, message):
    with pytest.raises(ConfigError) as caught:
        WatchdogSettings.from_mapping(raw)
    assert message in str(caught.value)
