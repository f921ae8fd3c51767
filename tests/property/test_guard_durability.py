"""The kill switch holds whatever happens to the guard file: only a reset lifts it.

Any sequence of admin commands (the real `profitguard guard` command), file
accidents (deleted, torn, an old copy restored) and bot restarts, the bot reading
the file only now and then: whenever the last of `kill` and `reset --confirm` was a
kill, the bot sees the kill switch on (in the state it reads, or kept by the error
of a file it cannot trust); right after a reset, it sees it off.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.cli import main
from profitguard.guard_store import GuardCopy
from profitguard.risk import state as gs

EVENTS = ("kill", "reset", "pause", "resume", "delete", "tear", "snapshot", "restore", "restart",
          "check")  # fmt: skip


def halted(bot: guard_store.GuardFile) -> bool:
    """What the bot's risk gate concludes (RiskGate.halted)."""
    try:
        return bot.read().halted
    except gs.GuardStateError as exc:
        return exc.last_good is not None and exc.last_good.halted


@settings(max_examples=min(200, settings.default.max_examples))
@given(st.lists(st.sampled_from(EVENTS), max_size=20))
def test_kill_switch_when_file_lost_torn_or_restored_then_only_a_reset_lifts_it(events):
    with tempfile.TemporaryDirectory(prefix="profitguard-guard-") as tmp:
        userdir = Path(tmp)
        url = f"sqlite:///{userdir / 'tradesv3.sqlite'}"
        path = identity_of({}, url).guard_path(userdir)  # the bot `--db-url` names
        copy = GuardCopy(url)
        copy.load()  # the bot has created its trades database
        bot = guard_store.GuardFile(path, copy)
        killed = False  # the last of kill and reset was a kill
        snapshot: bytes | None = None
        try:
            for event in events:
                if event in ("kill", "reset", "pause", "resume"):
                    argv = ["guard", event, "--userdir", tmp, "--db-url", url]
                    if event == "reset":
                        argv.append("--confirm")
                    quiet = io.StringIO()
                    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                        status = main(argv)
                    if event in ("kill", "reset"):
                        assert status == 0
                        killed = event == "kill"
                elif event == "delete":
                    path.unlink(missing_ok=True)
                elif event == "tear" and path.exists():
                    path.write_bytes(path.read_bytes()[:20])
                elif event == "snapshot" and path.exists():
                    snapshot = path.read_bytes()
                elif event == "restore" and snapshot is not None:
                    path.write_bytes(snapshot)
                elif event == "restart":
                    bot = guard_store.GuardFile(path, GuardCopy(url))
                elif event == "check":  # the bot reads (it may be down between checks)
                    assert halted(bot) or not killed, events
                if event == "reset":
                    assert not halted(bot), events
        finally:
            copy.close()
            shutil.rmtree(tmp, ignore_errors=True)
