"""What a shared-account chaos scenario does to the account under its running bots.

Each disruption is stepped by the scenario's loop (`step(now)`, every poll) and acts
through the run (`AccountRun`: kill and restart a bot, the account's server, what
was done, for the checks):

- `KillReserved`: one bot, told to stop inside confirm_trade_entry (its
  `user_data/hold-entry`), is SIGKILLed once the account reserved its entry, before
  its order; the other bot's own entries are paused meanwhile (`guard pause
  --this-bot`: else it may win every race for the slot) and resumed at the kill; the
  killed bot stays down until the other entered or the reservation should long have
  expired, then restarts;
- `DropConnections`: the run takes the account's row lock, waits for the bots'
  transactions to queue behind it, and has the server end their connections, in the
  middle of their transactions;
- `RestartDatabase`: the account's server stopped under the bots, and started again.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import time
from typing import Any

from profitguard.tooling.chaos.account_checks import SLOT_GRACE_S, Outage, ReservedKill

AccountRun = Any  # account_runner.AccountRun (which imports this module)

ARM_TIMEOUT_S = 90.0  # the reservation moment never came: the scenario goes on without it
LOCK_WAIT_S = 5.0  # longest the run holds the account's lock waiting for a bot to queue


class KillReserved:
    def __init__(self, run: AccountRun, rng: random.Random) -> None:
        self.run, self.rng = run, rng
        self.victim = rng.choice(run.bot_names)
        self.arm_at: float | None = None
        self.armed_at: float | None = None
        self.reserved_at: float | None = None
        self.kill_at: float | None = None
        self.killed_at: float | None = None
        self.pair = ""  # the reserved entry's
        self.done = False

    def _files(self):
        userdir = self.run.workspaces[self.victim].userdir
        return userdir / "hold-entry", userdir / "reserved"

    def step(self, now: float) -> None:
        hold, reserved = self._files()
        if self.done or self.run.first_back is None:
            return
        if self.arm_at is None:
            self.arm_at = self.run.first_back + self.rng.uniform(3, 10)
        if self.armed_at is None:
            if now >= self.arm_at:
                hold.write_text("")
                self._others("pause")
                self.armed_at = now
            return
        if self.kill_at is None:
            if reserved.exists():
                self.reserved_at = reserved.stat().st_mtime
                self.pair = reserved.read_text().strip() or "?"
                self.kill_at = now + self.rng.uniform(0, 1)
            elif now > self.armed_at + ARM_TIMEOUT_S:
                hold.unlink()
                self._others("resume")
                self.run.notes.append(f"{self.victim}: the account never reserved an entry")
                self.done = True
            return
        if self.killed_at is None:
            if now >= self.kill_at:
                self.killed_at = self.run.kill(self.victim)
                hold.unlink()
                reserved.unlink()
                self._others("resume")
            return
        others = self.run.pairs_of(self.victim, others=True)
        entered = any(
            o["side"] == "buy" and o["pair"] in others and o["time"] / 1000 > self.killed_at
            for o in self.run.ledger()["orders"]
        )
        due = self.reserved_at + self.run.scenario.reservation_ttl + SLOT_GRACE_S + 2
        if entered or now >= due:
            restarted = self.run.restart(self.victim)
            self.run.kills.append(
                ReservedKill(
                    bot=self.victim,
                    pair=self.pair,
                    reserved=self.reserved_at,
                    killed=self.killed_at,
                    restarted=restarted,
                    others=tuple(others),
                )
            )
            self.done = True

    def _others(self, action: str) -> None:
        """`profitguard guard pause|resume --this-bot` on every other bot (its own entries
        only: the account's switches stay as they are)."""
        from profitguard.tooling.exchange.harness import offline_env

        for bot in self.run.bot_names:
            if bot == self.victim:
                continue
            ws = self.run.workspaces[bot]
            subprocess.run(
                [sys.executable, "-m", "profitguard.cli", "guard", action, "--this-bot",
                 "--config", str(ws.config), "--userdir", str(ws.userdir),
                 "--reason", f"chaos: until {self.victim} holds a reservation"],
                check=True, capture_output=True, timeout=60, env=offline_env(),
            )  # fmt: skip


class DropConnections:
    """Three times, the bots' transactions queued behind the run's lock are ended."""

    def __init__(self, run: AccountRun, rng: random.Random, times: int = 3) -> None:
        self.run, self.rng = run, rng
        self.due: list[float] = []
        self.times = times
        self.dropped = 0
        self.done = False

    def step(self, now: float) -> None:
        if self.done or self.run.first_back is None:
            return
        if not self.due:
            at = self.run.first_back
            for _ in range(self.times):
                at += self.rng.uniform(8, 20)
                self.due.append(at)
        if now < self.due[0]:
            return
        self.due.pop(0)
        ended = self._drop()
        self.dropped += ended
        if not ended:
            self.run.notes.append("no bot's transaction was queued behind the lock: none ended")
        self.done = not self.due

    def _drop(self) -> int:
        """Hold the account's row lock until a bot's transaction waits for it (at most
        LOCK_WAIT_S), then end every waiting connection; the lock is let go after."""
        with self.run.server.connect(self.run.database) as conn, conn.transaction():
            conn.execute(
                "SELECT 1 FROM profitguard_account WHERE name = %s FOR UPDATE",
                (self.run.account_name,),
            )
            deadline = time.time() + LOCK_WAIT_S
            waiting: list = []
            while not waiting and time.time() < deadline:
                time.sleep(0.1)
                waiting = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
                ).fetchall()
            for (pid,) in waiting:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            self.run.events.append({"dropped": len(waiting), "at": time.time()})
            return len(waiting)


class RestartDatabase:
    """The account's server stopped (`pg_ctl stop -m fast`: every connection ended) and
    started again after a while, twice when the run is long enough."""

    def __init__(self, run: AccountRun, rng: random.Random) -> None:
        self.run, self.rng = run, rng
        self.stop_at: float | None = None
        self.began: float | None = None
        self.start_at: float | None = None
        self.outages = 0
        self.done = False

    def step(self, now: float) -> None:
        if self.done or self.run.first_back is None:
            return
        if self.stop_at is None:
            self.stop_at = self.run.first_back + self.rng.uniform(8, 16)
        if self.began is None:
            if now >= self.stop_at:
                self.began = time.time()
                self.run.server.stop("fast")
                self.start_at = time.time() + self.rng.uniform(15, 25)
            return
        if now < self.start_at:
            return
        self.run.server.start()
        self.run.outages.append(Outage(began=self.began, ended=time.time()))
        self.outages += 1
        self.began = None
        later = now + self.rng.uniform(10, 20)
        if self.outages < 2 and later + 40 < self.run.first_back + self.run.duration_s:
            self.stop_at = later
        else:
            self.done = True

    def close(self) -> None:
        """A server still down when the run ends is started again (for the record)."""
        if self.began is not None:
            with contextlib.suppress(Exception):
                self.run.server.start()
            self.run.outages.append(Outage(began=self.began, ended=time.time()))


DISRUPTIONS = {
    "kill_reserved": KillReserved,
    "drop_connections": DropConnections,
    "restart_db": RestartDatabase,
}
