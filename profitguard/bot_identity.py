"""Which bot a guard file belongs to: one guard and one status file per bot.

Two bots can share a `user_data` directory (a dry-run and a live one, say). Each has
its own switches: the files are named by what identifies a bot to Freqtrade, its
`bot_name` when the config sets one (other than Freqtrade's default "freqtrade"),
else its trades database (`db_url`). The guard file records the bot it was written
for, so a file copied from another bot is told apart; and a running bot holds a lock
on its files, so a second bot that would share them refuses to start, naming both.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

FREQTRADE_BOT_NAME = "freqtrade"  # Freqtrade's default `bot_name`
DEFAULT_DB_PROD_URL = "sqlite:///tradesv3.sqlite"  # Freqtrade's defaults (constants.py)
DEFAULT_DB_DRYRUN_URL = "sqlite:///tradesv3.dryrun.sqlite"


class BotClaimError(RuntimeError):
    """Another running bot holds this bot's guard files."""


def resolved_db_url(config: Mapping[str, Any]) -> str:
    """The trades database as Freqtrade picks it (the dry-run default in dry-run)."""
    db_url = config.get("db_url")
    if config.get("dry_run", True) and db_url in (None, DEFAULT_DB_PROD_URL):
        return DEFAULT_DB_DRYRUN_URL
    return str(db_url or DEFAULT_DB_PROD_URL)


def _hidden(db_url: str) -> str:
    """`db_url` without its password (for files and messages)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", db_url)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "bot"


@dataclass(frozen=True, slots=True)
class BotIdentity:
    name: str  # Freqtrade's `bot_name`
    db_url: str  # the trades database, password hidden
    named: bool  # the config sets a `bot_name` of its own: the files are keyed by it

    @property
    def key(self) -> str:
        """What the bot's file names carry: its name, else its database."""
        if self.named:
            return _slug(self.name)
        match = re.match(r"sqlite:///(.+)$", self.db_url)
        if match and match[1] != ":memory:":
            return _slug(Path(match[1]).name.removesuffix(".sqlite"))
        return "db-" + hashlib.sha256(self.db_url.encode()).hexdigest()[:10]

    @property
    def label(self) -> str:
        """How files and messages name the bot."""
        return f"bot_name={self.name!r}, db_url={self.db_url}"

    def guard_path(self, userdir: Path) -> Path:
        return Path(userdir) / f"profitguard-{self.key}-guard.json"

    def status_path(self, userdir: Path) -> Path:
        return Path(userdir) / f"profitguard-{self.key}-status.json"

    def claim_path(self, userdir: Path) -> Path:
        return Path(userdir) / f"profitguard-{self.key}-bot.lock"


def identity_of(config: Mapping[str, Any], db_url: str | None = None) -> BotIdentity:
    """The bot a Freqtrade config describes (`db_url` given: that database instead)."""
    name = config.get("bot_name") or FREQTRADE_BOT_NAME
    return BotIdentity(
        name=str(name),
        db_url=_hidden(db_url or resolved_db_url(config)),
        named=str(name) != FREQTRADE_BOT_NAME,
    )


# This process's claims (path -> open lock file): a bot restarted inside one process
# (the tests) claims again what it holds; only another process is refused.
_HELD: dict[Path, TextIO] = {}


def claim(identity: BotIdentity, userdir: Path) -> Path:
    """Hold this bot's files for as long as the process runs (an advisory lock the
    kernel drops when the process ends, a crash included). Raises `BotClaimError`
    naming the guard file and the bot holding it when another running bot does."""
    path = identity.claim_path(userdir).resolve()
    if path in _HELD:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - held open for the life of the bot
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip()
        fh.close()
        try:
            other = json.loads(holder)
            who = f"{other['bot']} (pid {other['pid']})"
        except (ValueError, KeyError, TypeError):
            who = "another bot"
        raise BotClaimError(
            f"{identity.guard_path(userdir)} is already in use by the running bot {who}; "
            f"this bot ({identity.label}) would share its kill switch and figures: give "
            "each bot its own 'bot_name' in its config"
        ) from None
    fh.seek(0)
    fh.truncate()
    record = {"bot": identity.label, "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}
    fh.write(json.dumps(record) + "\n")
    fh.flush()
    _HELD[path] = fh
    return path


def release_all() -> None:
    """Give every claim of this process up (at exit; between tests)."""
    while _HELD:
        _, fh = _HELD.popitem()
        with contextlib.suppress(OSError):
            fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


atexit.register(release_all)
