"""Guard state: admin actions, atomic persistence, and a file that cannot be trusted."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from profitguard import guard_store
from profitguard.guard_store import GuardFile
from profitguard.risk import state as st
from profitguard.risk.state import GuardState, GuardStateError

GUARD_FILE = "profitguard-bot-guard.json"
NOW = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)


def test_actions_when_kill_then_only_reset_lifts_it():
    killed = st.kill(GuardState(), "manual", NOW)
    assert killed.halted and killed.halted_reason == "manual" and killed.halted_at == NOW
    with pytest.raises(st.GuardActionError, match="only 'profitguard guard reset --confirm'"):
        st.resume(killed, NOW)
    later = NOW + timedelta(minutes=1)
    assert st.reset(killed, later) == GuardState(
        streak_since=later, reset_at=later, updated_at=later
    )


def test_actions_when_pause_then_resume_lifts_it_and_restarts_the_streak():
    paused = st.pause(GuardState(), "news", NOW)
    assert paused.paused and paused.paused_reason == "news"
    resumed = st.resume(paused, NOW + timedelta(hours=1))
    assert not resumed.paused and resumed.streak_since == NOW + timedelta(hours=1)


def test_write_state_when_written_then_read_back_and_no_temporary_left(tmp_path):
    path = tmp_path / "user_data" / GUARD_FILE
    state = st.pause(st.kill(GuardState(), "k", NOW), "p", NOW)
    guard_store.write_state(path, state)
    assert guard_store.read_state(path) == state
    assert os.listdir(path.parent) == [GUARD_FILE]
    assert json.loads(path.read_text())["version"] == 1


def test_write_json_atomic_when_serialization_fails_then_old_file_kept(tmp_path):
    path = tmp_path / GUARD_FILE
    guard_store.write_state(path, st.kill(GuardState(), "k", NOW))
    with pytest.raises(TypeError):
        guard_store.write_json_atomic(path, {"bad": object()})
    assert guard_store.read_state(path).halted
    assert os.listdir(tmp_path) == [GUARD_FILE]


def test_read_state_when_no_file_then_fresh_active_state(tmp_path):
    assert guard_store.read_state(tmp_path / GUARD_FILE) == GuardState()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", r"not valid JSON"),
        ("[]", r"expected a JSON object, found list"),
        ('{"version": 2}', r"unknown version 2"),
        ('{"version": 1, "halted": "yes"}', r"'halted' must be true or false, was 'yes'"),
        ('{"version": 1, "halted_at": "2024-01-01T00:00:00"}', r"'halted_at' must carry a time"),
        ('{"version": 1, "paused_at": "soon"}', r"'paused_at' must be an ISO time, was 'soon'"),
        ('{"version": 1, "killed": true}', r"unknown keys \['killed'\]"),
        ('{"version": 1, "paused_reason": 3}', r"'paused_reason' must be text"),
    ],
)
def test_read_state_when_file_corrupt_then_error_names_the_file(tmp_path, content, match):
    path = tmp_path / GUARD_FILE
    path.write_text(content)
    with pytest.raises(GuardStateError, match=match) as raised:
        guard_store.read_state(path)
    assert str(path) in str(raised.value)


def test_guard_file_when_changed_on_disk_then_reread_else_cached(tmp_path):
    path = tmp_path / GUARD_FILE
    guard = GuardFile(path)
    assert guard.read() == GuardState()
    guard_store.write_state(path, st.kill(GuardState(), "k", NOW))
    assert guard.read().halted
    path.chmod(0)  # unreadable, but unchanged: the cached state is kept
    try:
        assert guard.read().halted
    finally:
        path.chmod(0o644)
    guard_store.write_state(path, st.reset(GuardState(), NOW))
    assert not guard.read().halted


def test_guard_file_when_corrupted_then_errors_until_repaired(tmp_path):
    path = tmp_path / GUARD_FILE
    guard = GuardFile(path)
    path.write_text("garbage")
    with pytest.raises(GuardStateError, match="not valid JSON"):
        guard.read()
    with pytest.raises(GuardStateError, match="not valid JSON"):
        guard.read()  # still, from the cache
    guard_store.write_state(path, GuardState())
    assert guard.read() == GuardState()


def test_guard_file_when_it_disappears_after_being_seen_then_error(tmp_path):
    path = tmp_path / GUARD_FILE
    guard_store.write_state(path, st.kill(GuardState(), "k", NOW))
    guard = GuardFile(path)
    assert guard.read().halted
    path.unlink()
    with pytest.raises(GuardStateError, match="the guard file disappeared"):
        guard.read()


def test_guard_file_when_broken_after_a_good_read_then_error_carries_the_last_good_state(
    tmp_path,
):
    path = tmp_path / GUARD_FILE
    guard = GuardFile(path)
    killed = st.kill(GuardState(), "k", NOW)
    guard_store.write_state(path, killed)
    guard.read()
    path.write_text("{")
    with pytest.raises(GuardStateError) as raised:
        guard.read()
    assert raised.value.last_good == killed


# ------------------------------------------- the copy in the trades database


@pytest.fixture
def copy(tmp_path):
    from profitguard.guard_store import GuardCopy

    db = GuardCopy(f"sqlite:///{tmp_path / 'tradesv3.sqlite'}")
    yield db
    db.close()


def restarted(path, copy) -> GuardFile:
    """The guard file as a freshly started bot sees it (nothing in memory)."""
    return GuardFile(path, copy)


def test_reconcile_when_copy_halted_then_only_a_reset_recorded_there_lifts_it():
    killed = st.kill(GuardState(), "k", NOW)
    fresh = GuardState()
    assert st.reconcile(fresh, killed).halted  # a new or old file lifts nothing
    assert st.reconcile(st.pause(fresh, "p", NOW), killed).halted_reason == "k"
    earlier_reset = st.reset(fresh, NOW - timedelta(minutes=1))
    assert st.reconcile(earlier_reset, killed).halted  # a reset from before the kill
    later_reset = st.reset(fresh, NOW + timedelta(minutes=1))
    kept = st.reconcile(later_reset, killed)  # a file claiming a reset the copy lacks
    assert kept.halted and kept.reset_at is None
    assert st.reconcile(later_reset, later_reset) == later_reset  # `reset --confirm` recorded it
    assert st.reconcile(fresh, None) == fresh
    assert st.reconcile(fresh, st.pause(fresh, "p", NOW)) == fresh  # only the kill is kept


@pytest.mark.parametrize("breakage", ["deleted", "torn", "not an object"])
def test_guard_file_when_kill_seen_then_file_lost_and_bot_restarted_then_still_halted(
    tmp_path, copy, breakage
):
    path = tmp_path / GUARD_FILE
    killed = st.kill(GuardState(), "drawdown", NOW)
    guard_store.write_state(path, killed)
    assert restarted(path, copy).read().halted  # the bot sees it and records it
    if breakage == "deleted":
        path.unlink()
    else:
        path.write_text('{"version": 1, "hal' if breakage == "torn" else "[]")
    with pytest.raises(GuardStateError) as raised:
        restarted(path, copy).read()
    assert raised.value.last_good == killed


def test_guard_file_when_file_says_off_but_the_copy_halted_then_halted_until_reset(
    tmp_path, copy, caplog
):
    path = tmp_path / GUARD_FILE
    guard_store.write_state(path, st.kill(GuardState(), "drawdown", NOW))
    restarted(path, copy).read()
    guard_store.write_state(
        path, st.pause(GuardState(), "a fresh file", NOW)
    )  # e.g. after a delete
    state = restarted(path, copy).read()
    assert state.halted and state.halted_reason == "drawdown" and state.paused
    assert "it stays on" in caplog.text
    reset = st.reset(GuardState(), NOW + timedelta(minutes=1))
    copy.save(reset)  # as `reset --confirm` does: the database first, then the file
    guard_store.write_state(path, reset)
    assert not restarted(path, copy).read().halted
    assert not copy.load().halted  # the reset is recorded: a lost file now lifts nothing


def test_guard_file_when_missing_where_a_state_was_recorded_then_error_not_a_fresh_start(
    tmp_path, copy
):
    path = tmp_path / GUARD_FILE
    guard_store.write_state(path, st.pause(GuardState(), "news", NOW))
    restarted(path, copy).read()
    path.unlink()
    with pytest.raises(GuardStateError, match="the guard file disappeared") as raised:
        restarted(path, copy).read()
    assert raised.value.last_good.paused and not raised.value.last_good.halted


def test_guard_file_when_never_written_then_fresh_active_state(tmp_path, copy):
    assert restarted(tmp_path / GUARD_FILE, copy).read() == GuardState()
    assert copy.load() is None


@pytest.mark.parametrize("first_read", [True, False])
def test_guard_file_when_stat_fails_then_error_keeps_the_kill_switch(
    tmp_path, monkeypatch, copy, first_read
):
    path = tmp_path / GUARD_FILE
    killed = st.kill(GuardState(), "k", NOW)
    guard_store.write_state(path, killed)
    copy.save(killed)
    guard = GuardFile(path, copy)
    if not first_read:
        assert guard.read().halted  # read before; else the recorded copy keeps it
    real_stat = os.stat

    def failing_stat(target, *args, **kwargs):
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(guard_store.os, "stat", failing_stat)
    with pytest.raises(GuardStateError, match=r"cannot be read: .*Permission denied") as raised:
        guard.read()
    assert raised.value.last_good == killed
