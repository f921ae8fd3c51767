"""The Freqtrade releases profitguard supports, checked once at bot start.

`FLOOR` is the oldest release profitguard runs on (pyproject.toml says the same,
with no upper bound); `NEWEST_TESTED` the newest CI runs it on. A Freqtrade older
than the floor stops the bot with one line naming both versions; a newer one than
the newest tested runs, with one warning line naming both.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

FLOOR = "2026.1"
NEWEST_TESTED = "2026.9"


def release(version: str) -> tuple[int, ...]:
    """`2026.5.1` -> (2026, 5, 1); a development suffix (`2026.10-dev-abc`) is ignored."""
    parts = re.findall(r"\d+", version.split("-")[0])
    if not parts:
        raise ValueError(f"not a Freqtrade version: {version!r}")
    return tuple(int(p) for p in parts)


def version_problem(version: str) -> tuple[str, str] | None:
    """('error'|'warning', one line) for a Freqtrade outside the tested range, else None."""
    if release(version) < release(FLOOR):
        return (
            "error",
            f"profitguard needs Freqtrade {FLOOR} or newer, this is Freqtrade {version}: "
            f"upgrade Freqtrade (pip install -U 'freqtrade>={FLOOR}')",
        )
    if release(version) > release(NEWEST_TESTED):
        return (
            "warning",
            f"profitguard: Freqtrade {version} is newer than {NEWEST_TESTED}, the newest "
            "release profitguard was tested with: running on it",
        )
    return None


def check_freqtrade_version(version: str | None = None) -> None:
    """At bot start: raise (OperationalException) below the floor, warn above the newest."""
    from freqtrade import __version__
    from freqtrade.exceptions import OperationalException

    problem = version_problem(version or __version__)
    if problem is None:
        return
    level, line = problem
    if level == "error":
        raise OperationalException(line)
    log.warning(line)
