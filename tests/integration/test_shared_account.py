"""A shared account on a real PostgreSQL server: atomic admission (threads racing for
the last slot), heat and daily loss across bots, reservations released or expired,
the switches for every bot, and a lost database refusing entries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from profitguard.freqtrade.gate.shared import SharedAccount
from profitguard.risk.book import ClosedTrade, OpenPosition, Proposal
from profitguard.risk.checks import Rule
from profitguard.risk.config import account_from_mapping
from profitguard.risk.state import kill, pause, reset

pytestmark = pytest.mark.slow  # a PostgreSQL server, as the other database tests

EQUITY = 1000.0
OPENED: list[SharedAccount] = []


@pytest.fixture(autouse=True)
def close_accounts():
    """Every account connection a test opened is closed after it."""
    yield
    while OPENED:
        OPENED.pop().store.close()


def account_config(url, name="main", **limits):
    raw = {"name": name, "db_url": url, "max_correlated_positions": None, **limits}
    return account_from_mapping(raw, source="profitguard.risk.account", stake_currency="USDT")


def proposal(pair="BTC/USDT", *, stake=50.0, rate=100.0, stop=98.0):
    """An entry of `stake` at `rate`: its risk is (rate - stop) * stake / rate."""
    return Proposal(
        pair=pair,
        is_short=False,
        rate=rate,
        amount=stake / rate,
        stake=stake,
        initial_stop=stop,
        first_target=rate * 1.05,
        signal_close=rate,
    )


def position(pair="BTC/USDT", *, stake=50.0, rate=100.0, stop=98.0):
    return OpenPosition(
        pair=pair, is_short=False, entry=rate, amount=stake / rate, stop=stop, stake=stake
    )


def admit(bot: SharedAccount, entry: Proposal, equity: float = EQUITY):
    return bot.admit(
        bot.config.limits,
        own_equity=equity,
        now=datetime.now(UTC),
        proposal=entry,
        correlations=lambda pair, others: [],
    )


def joined(config, name: str) -> SharedAccount:
    bot = SharedAccount(config, bot=name, db_url=None)
    OPENED.append(bot)
    bot.start()
    assert bot.error is None, bot.error
    return bot


def publish(bot: SharedAccount, positions=(), closed=(), equity=EQUITY):
    bot.loop(equity=equity, positions=list(positions), closed=lambda since: list(closed))
    assert bot.error is None, bot.error


def test_admission_when_eight_bots_race_for_the_last_slot_then_exactly_one_wins_20_times(
    postgresql,
):
    url = postgresql.new_database()
    racers = 8
    for round_ in range(20):
        config = account_config(url, name=f"race-{round_}", max_open_positions=2)
        holder = joined(config, "holder")
        publish(holder, [(1, position("ETH/USDT"))])  # one slot of two taken
        bots = [joined(config, f"bot-{i}") for i in range(racers)]
        start = threading.Barrier(racers)
        verdicts = {}

        def race(bot, pair, start=start, verdicts=verdicts):
            start.wait()
            verdicts[bot.bot] = admit(bot, proposal(pair))

        threads = [
            threading.Thread(target=race, args=(bot, f"C{i}/USDT")) for i, bot in enumerate(bots)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        winners = [name for name, v in verdicts.items() if v.allowed]
        assert len(verdicts) == racers and len(winners) == 1, (round_, winners)
        refused = [v.refusal for v in verdicts.values() if not v.allowed]
        assert {r.rule for r in refused} == {Rule.MAX_POSITIONS}
        held_by = refused[0].evidence["held by"]
        assert "holder: ETH/USDT" in held_by and f"{winners[0]}: " in held_by
        assert "(reserved)" in held_by
        assert all(r.evidence["account"] == f"race-{round_}" for r in refused)
        while OPENED:  # each round's bots are new processes' connections
            OPENED.pop().store.close()


def _racer(url: str, bot: str, start: float, rounds: int) -> list[bool]:
    """One bot process: at each round's instant, one entry into that round's account."""
    admitted = []
    for round_ in range(rounds):
        racer = SharedAccount(account_config(url, name=f"proc-{round_}", max_open_positions=1),
                              bot=bot, db_url=None)  # fmt: skip
        racer.start()
        time.sleep(max(0.0, start + round_ - time.time()))
        admitted.append(admit(racer, proposal(f"{bot.upper()}/USDT")).allowed)
        racer.store.close()
    return admitted


def test_admission_when_six_processes_race_for_the_last_slot_then_exactly_one_wins_5_times(
    postgresql,
):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    url = postgresql.new_database()
    for round_ in range(5):  # the accounts made before the race
        joined(account_config(url, name=f"proc-{round_}", max_open_positions=1), "holder")
    start = time.time() + 8.0  # every process spawned and joined by then
    with ProcessPoolExecutor(6, mp_context=multiprocessing.get_context("spawn")) as pool:
        racers = [pool.submit(_racer, url, f"p{i}", start, 5) for i in range(6)]
        results = [r.result(timeout=120) for r in racers]
    assert all(len(r) == 5 for r in results)
    assert [sum(r[round_] for r in results) for round_ in range(5)] == [1] * 5, results


def test_heat_when_two_bots_hold_risk_then_the_account_sum_decides_naming_the_holder(
    postgresql,
):
    config = account_config(postgresql.new_database(), max_heat=0.02, max_asset_exposure=None)
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    # bot-a: 500 at 100 with the stop at 97: risk 15 = 1.5% of 1000
    publish(a, [(7, position("BTC/USDT", stake=500.0, stop=97.0))])
    # bot-b alone would be well inside (1% heat); with bot-a's 1.5% it is past 2%
    refused = admit(b, proposal("ETH/USDT", stake=500.0, stop=98.0))
    assert refused.refusal.rule is Rule.HEAT
    assert refused.refusal.evidence["open"] == pytest.approx(0.015)
    assert refused.refusal.evidence["held by"] == "bot-a: BTC/USDT"
    assert admit(b, proposal("ETH/USDT", stake=250.0, stop=98.0)).allowed  # 0.5%: 2.0% in all
    # bot-b's reservation counts for bot-a's next entry
    again = admit(a, proposal("SOL/USDT", stake=50.0, stop=99.0))
    assert again.refusal.rule is Rule.HEAT
    assert again.refusal.evidence["held by"] == "bot-a: BTC/USDT; bot-b: ETH/USDT (reserved)"


def test_asset_exposure_when_two_bots_hold_one_asset_then_refused_naming_both(postgresql):
    config = account_config(postgresql.new_database(), max_asset_exposure=0.2, max_heat=None)
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    publish(a, [(1, position("BTC/USDT", stake=120.0)), (2, position("ETH/USDT", stake=100.0))])
    refused = admit(b, proposal("BTC/USDT:USDT", stake=90.0))
    assert refused.refusal.rule is Rule.ASSET_EXPOSURE
    assert refused.refusal.evidence["exposure"] == pytest.approx(0.21)
    assert refused.refusal.evidence["held by"] == "bot-a: BTC/USDT"  # its BTC only
    assert admit(b, proposal("BTC/USDT:USDT", stake=80.0)).allowed


def test_daily_loss_when_two_bots_lose_then_every_bot_is_paused_with_each_loss_named(
    postgresql,
):
    config = account_config(postgresql.new_database(), max_daily_loss=0.05)
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    today = datetime.now(UTC) - timedelta(seconds=5)
    if today.date() != datetime.now(UTC).date():  # just past midnight: yesterday's
        today = datetime.now(UTC)
    publish(a, closed=[(1, ClosedTrade(pair="BTC/USDT", closed_at=today, profit=-30.0))])
    # each bot alone below 5% of the day's start (30 / 1030, 25 / 1025): together 55 / 1055
    assert admit(b, proposal("ETH/USDT")).allowed
    publish(b, closed=[(4, ClosedTrade(pair="ETH/USDT", closed_at=today, profit=-25.0))])
    for bot in (a, b):
        refused = admit(bot, proposal("SOL/USDT"))
        assert refused.refusal.rule is Rule.DAILY_LOSS
        assert refused.refusal.evidence["loss"] == pytest.approx(55 / 1055)
        assert refused.refusal.evidence["by bot"] == "bot-a: -30.00; bot-b: -25.00"
    # published again (every loop): counted once
    publish(b, closed=[(4, ClosedTrade(pair="ETH/USDT", closed_at=today, profit=-25.0))])
    assert admit(a, proposal("SOL/USDT")).refusal.evidence["loss"] == pytest.approx(55 / 1055)


def test_reservation_when_the_trade_opens_then_it_becomes_the_position(postgresql):
    config = account_config(postgresql.new_database(), max_open_positions=2)
    a = joined(config, "bot-a")
    assert admit(a, proposal("BTC/USDT")).allowed
    publish(a, [(11, position("BTC/USDT"))])  # the trade opened: one position, no reservation
    held = a.store.snapshot().held
    assert [(h.bot, h.trade_id, h.position.pair) for h in held] == [("bot-a", 11, "BTC/USDT")]
    assert admit(a, proposal("ETH/USDT")).allowed  # the second slot: not taken twice


def test_reservation_when_the_entry_was_never_placed_then_released_at_the_next_loop(postgresql):
    config = account_config(postgresql.new_database(), max_open_positions=1)
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    assert admit(a, proposal("BTC/USDT")).allowed
    publish(a)  # the loop after the entry: made after the last publish, kept
    assert admit(b, proposal("ETH/USDT")).refusal.rule is Rule.MAX_POSITIONS
    publish(a)  # a whole loop later and still no trade: the exchange refused it
    assert admit(b, proposal("ETH/USDT")).allowed


def test_reservation_when_its_bot_died_then_it_expires_and_a_restart_releases_it(postgresql):
    url = postgresql.new_database()
    config = account_config(url, max_open_positions=1, reservation_ttl=0.5)
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    assert admit(a, proposal("BTC/USDT")).allowed  # then bot-a is SIGKILLed
    assert admit(b, proposal("ETH/USDT")).refusal.rule is Rule.MAX_POSITIONS
    time.sleep(0.6)  # the reservation's time-to-live, by the database's clock
    assert admit(b, proposal("ETH/USDT")).allowed
    # restart: a reservation of the last run that did not become a trade is released
    config = account_config(url, name="restart", max_open_positions=1)
    first = joined(config, "bot-a")
    assert admit(first, proposal("BTC/USDT")).allowed
    restarted = joined(config, "bot-a")
    publish(restarted)  # its open trades: none
    assert restarted.store.snapshot().held == ()


def test_switches_when_killed_or_paused_then_every_bot_of_the_account_obeys(postgresql):
    config = account_config(postgresql.new_database())
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    a.store.set_switches(
        lambda s, now: type(s)(guard=pause(s.guard, "news", now), paused_by="ops@host")
    )
    publish(b)
    refused = admit(b, proposal())
    assert refused.refusal.rule is Rule.PAUSED and refused.refusal.evidence["reason"] == "news"
    a.store.set_switches(
        lambda s, now: type(s)(guard=kill(s.guard, "stop all", now), halted_by="ops@host")
    )
    assert not b.halted()
    publish(b)  # its next loop reads the account
    assert b.halted() and admit(b, proposal()).refusal.rule is Rule.KILL_SWITCH
    a.store.set_switches(lambda s, now: type(s)(guard=reset(s.guard, now)))
    publish(b)
    assert not b.halted() and admit(b, proposal()).allowed


def test_lost_database_when_an_entry_comes_then_refused_and_a_kill_switch_stays_on(postgresql):
    config = account_config(postgresql.new_database())
    a = joined(config, "bot-a")
    a.store.set_switches(lambda s, now: type(s)(guard=kill(s.guard, "flatten", now)))
    publish(a)
    assert a.halted()
    a.store.close()
    a.store.url = f"postgresql+psycopg://postgres@127.0.0.1:{postgresql.port + 1}/gone"
    refused = admit(a, proposal())
    assert refused.refusal.rule is Rule.GUARD_STATE
    assert "shared account 'main'" in refused.refusal.evidence["error"]
    assert a.error is not None and a.halted()  # the last kill switch read stays on
    publish_failed = a.loop(equity=EQUITY, positions=[], closed=lambda since: [])
    assert publish_failed is None and a.error is not None
    lost = SharedAccount(account_config(a.store.url), bot="fresh", db_url=None)
    OPENED.append(lost)
    lost.start()  # never reached: refuses entries from the start
    assert admit(lost, proposal()).refusal.rule is Rule.GUARD_STATE


def test_bot_name_when_a_live_bot_of_another_database_has_it_then_refused(postgresql):
    from profitguard.account.store import BotNameTaken

    config = account_config(postgresql.new_database())
    first = SharedAccount(config, bot="freqtrade", db_url="sqlite:///one.sqlite")
    OPENED.append(first)
    first.start()
    publish(first)
    second = SharedAccount(config, bot="freqtrade", db_url="sqlite:///two.sqlite")
    OPENED.append(second)
    with pytest.raises(BotNameTaken, match="a bot named 'freqtrade' is running already"):
        second.start()
    again = SharedAccount(config, bot="freqtrade", db_url="sqlite:///one.sqlite")  # restarted
    OPENED.append(again)
    again.start()
    assert again.error is None


def test_connection_when_dropped_mid_admission_then_refused_nothing_reserved_and_next_admits(
    postgresql,
):
    """The server ends the admitting connection while its transaction holds the lock:
    the entry is refused (GUARD_STATE_UNREADABLE), no reservation is left, the lock is
    free, and the next entry is admitted on a fresh connection."""
    import psycopg
    from sqlalchemy.engine import make_url

    config = account_config(postgresql.new_database(), max_open_positions=1)
    a, b = joined(config, "bot-a"), joined(config, "bot-b")
    decide = a.store.admit

    def admit_and_drop(bot, reservation, decide_, allowed):
        def dropping(snapshot):
            with psycopg.connect(
                host="127.0.0.1",
                port=postgresql.port,
                user="postgres",
                dbname=make_url(config.db_url).database,
                autocommit=True,
            ) as admin:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE relation = 'profitguard_account'::regclass AND mode = 'RowShareLock'"
                ).fetchall()
            assert ended and all(row[0] for row in ended)
            return decide_(snapshot)

        return decide(bot, reservation, dropping, allowed)

    a.store.admit = admit_and_drop
    refused = admit(a, proposal("BTC/USDT"))
    assert refused.refusal.rule is Rule.GUARD_STATE
    assert "shared account 'main'" in refused.refusal.evidence["error"]
    assert a.store.snapshot().held == ()  # rolled back: no reservation
    assert admit(b, proposal("ETH/USDT")).allowed  # the lock is free
    a.store.admit = decide
    assert admit(a, proposal("BTC/USDT")).refusal.rule is Rule.MAX_POSITIONS  # reconnected
    assert a.error is None
