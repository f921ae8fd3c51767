"""What every subcommand shares: the usage error and the parsing of a date flag.

A leaf module (it imports nothing of profitguard), so any command can raise a
`UsageError` without importing the dispatcher; library code raises ordinary errors.
"""

from __future__ import annotations

from datetime import UTC, datetime


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit status 2."""


def parse_utc(text: str) -> datetime:
    """An ISO date or time from the command line, UTC unless it names its zone
    (ValueError when it is neither)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
