"""`profitguard guard status|pause|resume|kill|reset`: the admin's switches for a running bot.

Each bot's own `<user_data_dir>/profitguard-<bot>-guard.json`, re-read by the bot every
loop: `kill` stops entries and exits every open trade; `pause` stops entries; `resume`
lifts a pause (and restarts the losing-streak count); `reset --confirm` lifts everything.
Each switch is recorded in the bot's trades database first (`guard_store.GuardAdmin`).
`status` shows the switches and each rule's figure against its limit (the bot's status
file, else computed from the trades database). A config naming a shared account acts on
the account's switches (`guard_account`), or with `--this-bot` on the bot's own.
See docs/risk-gate.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from profitguard.commands import guard_account
from profitguard.commands.usage import UsageError

ACTIONS = ("status", "pause", "resume", "kill", "reset", "forget")
DEFAULT_CONFIG = Path("user_data/config.json")  # Freqtrade's default, and `report`'s


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "guard",
        help="the risk gate's switches: status, pause, resume, kill, reset; forget (a shared "
        "account's retired bot)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "--config",
        "-c",
        action="append",
        type=Path,
        default=[],
        help=f"Freqtrade config file(s) of the bot (default: {DEFAULT_CONFIG}, as Freqtrade's)",
    )
    parser.add_argument("--userdir", type=Path, help="the bot's user data directory")
    parser.add_argument("--reason", default="", help="why (pause, kill): shown in status")
    parser.add_argument(
        "--confirm", action="store_true", help="required by reset: it lifts the kill switch"
    )
    parser.add_argument(
        "--db-url", help="the bot's trades database (default: as Freqtrade, from the config)"
    )
    parser.add_argument("--json", action="store_true", help="status as JSON")
    parser.add_argument(
        "--bot", help="forget (a shared account only): the bot_name of a bot retired for good"
    )
    parser.add_argument(
        "--this-bot",
        action="store_true",
        help="a shared account's bot: act on this bot's own switches (its guard file), not "
        "the account's (which hold for every bot)",
    )
    parser.set_defaults(func=run)


def load_config(configs: list[Path]) -> dict:
    """The bot's config files merged as Freqtrade merges them ({} without any)."""
    if not configs:
        return {}
    from freqtrade.configuration.load_config import load_from_files
    from freqtrade.exceptions import OperationalException

    try:
        return load_from_files([str(c) for c in configs])
    except OperationalException as exc:
        raise UsageError(str(exc).splitlines()[0]) from None


def user_data_dir(configs: list[Path], userdir: Path | None, config: dict | None = None) -> Path:
    """Where Freqtrade would put this bot's user data (as `freqtrade` resolves it)."""
    if userdir is not None:
        return userdir
    if not configs:
        raise UsageError("give the bot's --config (or its --userdir)")
    config = load_config(configs) if config is None else config
    return Path(config.get("user_data_dir") or Path.cwd() / "user_data")


def run(args: argparse.Namespace) -> int:
    from profitguard.bot_identity import identity_of, resolved_db_url
    from profitguard.guard_store import GuardAdmin
    from profitguard.risk.state import GuardActionError

    if not args.config and args.userdir is None:
        if not DEFAULT_CONFIG.is_file():
            raise UsageError(
                f"no {DEFAULT_CONFIG} here: give the bot's --config (or its --userdir)"
            )
        args.config = [DEFAULT_CONFIG]
    config = load_config(args.config)
    account = guard_account.account_of(config)
    if args.this_bot and args.action == "forget":
        raise UsageError("--this-bot: forget takes a bot out of the account (give --bot NAME)")
    if args.this_bot and args.bot is not None:
        raise UsageError(f"--this-bot acts on the --config's bot: drop --bot {args.bot!r}")
    if account is not None and not args.this_bot:  # the account's switches, for every bot
        return guard_account.run(args, account)
    if args.action == "forget":
        raise UsageError("forget: only a shared account has bots to forget (--config names none)")
    userdir = user_data_dir(args.config, args.userdir, config)
    if not userdir.is_dir():
        raise UsageError(f"no user data directory at {userdir}")
    bot = identity_of(config, args.db_url)
    db_url = args.db_url or (resolved_db_url(config) if config else None)
    admin = GuardAdmin(bot.guard_path(userdir), db_url, bot.label)
    now = datetime.now(UTC)
    missing = admin.missing_database()
    if missing is not None:
        print(
            f"note: {missing} (--db-url names the bot's): the guard file alone holds the "
            "switches until the bot records them there",
            file=sys.stderr,
        )
    try:
        if args.action == "status":
            return show_status(admin, bot.status_path(userdir), now, as_json=args.json,
                               config=config)  # fmt: skip
        if args.action == "reset" and not args.confirm:
            raise UsageError(
                "reset lifts the kill switch and every pause; run it again with --confirm"
            )
        try:
            new = admin.apply(args.action, args.reason, now)
        except GuardActionError as exc:
            raise UsageError(str(exc)) from None
    finally:
        admin.close()
    print(f"{args.action}: done; {_describe(new)}")
    if args.action == "kill":
        print("the bot refuses every entry and exits every open trade at its next loop")
    return 0


def _describe(guard: Any) -> str:
    from profitguard.risk.gate_text import guard_lines

    state, kill, pause = (line.replace(": ", " ", 1) for line in guard_lines(guard)[:3])
    return f"{state} ({kill}; {pause})"


# The bot rewrites its status file every loop: older than this many loops, its
# figures are stale (no bot running, or it hangs).
STALE_LOOPS = 5
DEFAULT_THROTTLE_S = 5.0  # Freqtrade's internals.process_throttle_secs


def stale_after(config: dict) -> float:
    """Seconds after which the bot's figures are stale: a few of its loops."""
    throttle = config.get("internals", {}).get("process_throttle_secs", DEFAULT_THROTTLE_S)
    return STALE_LOOPS * float(throttle)


def computed_figures(config: dict, guard: Any, now: datetime) -> tuple[list[str], dict | None]:
    """Every rule's figure computed now from the trades database and the config's
    limits (no bot needed): the heading lines and a snapshot-like dict, or None."""
    from profitguard.bot_identity import resolved_db_url
    from profitguard.engine import ConfigError
    from profitguard.freqtrade.settings import load_settings
    from profitguard.risk import history
    from profitguard.risk.pipeline import account_state, entry_limits, portfolio_checks
    from profitguard.trades_db import TradesDatabase, TradesDatabaseError

    try:
        risk = load_settings({}, config).risk
    except ConfigError as exc:
        return [f"figures: cannot compute them: profitguard: {exc}"], None
    db = TradesDatabase(resolved_db_url(config))
    try:
        rows = db.trade_columns(history.TRADE_COLUMNS)
    except TradesDatabaseError as exc:
        return [f"figures: cannot compute them: {exc}"], None
    finally:
        db.close()
    equity = history.wallet_equity(config, history.closed_profit(rows))
    if equity is None:
        return [
            "figures: cannot compute them: live equity needs the exchange (or "
            "`available_capital` in the config); start the bot"
        ], None
    account = history.account_from_rows(rows, now=now, equity=equity)
    state, checks = account_state(risk, guard, account)
    every = (*checks, *portfolio_checks(risk, account), *entry_limits(risk))
    snapshot = {"state": state.value, "equity": equity, "checks": [c.as_json() for c in every]}
    source = db.where if db.exists() else f"{db.where} (not there yet: no trades)"
    heading = [
        f"figures: computed now from the trades database {source}, {len(rows)} trades, and "
        f"the limits of the config's profitguard.risk over the defaults (a strategy's own "
        f"profitguard_config is not read here); state {state.value}, equity {equity:.2f} "
        f"{config.get('stake_currency', '')}".rstrip()
    ]
    return heading, snapshot


def show_status(
    admin: Any, status_path: Path, now: datetime, *, as_json: bool, config: dict | None = None
) -> int:
    """The switches (`admin`: the bot's `GuardAdmin`) and the figures, as text or JSON."""
    from profitguard.risk.gate_text import checks_table, status_text
    from profitguard.risk.state import GuardStateError

    config = config or {}
    try:
        snapshot = json.loads(status_path.read_text())
    except FileNotFoundError:
        snapshot = None
    except (OSError, ValueError) as exc:
        print(f"status file {status_path} unreadable: {exc}")
        snapshot = None
    try:
        age = (now - datetime.fromisoformat(snapshot["updated_at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        age = None
    stale = snapshot is not None and (age is None or age > stale_after(config))
    try:
        guard = admin.state()
    except GuardStateError as exc:
        if as_json:
            print(json.dumps({"guard_file": str(admin.path), "error": str(exc), "bot": snapshot}))
        else:
            print(f"guard file: {admin.path}\nerror: {exc}")
            print("the bot refuses every entry until 'profitguard guard reset --confirm'")
        return 1
    heading, figures = ([], None)
    if (snapshot is None or stale) and config:
        heading, figures = computed_figures(config, guard, now)
    if as_json:
        out = {"guard_file": str(admin.path), "guard": guard.to_json(), "bot": snapshot}
        print(json.dumps(out | {"bot_stale": stale, "computed": figures}))
        return 0
    print(status_text(guard_file=str(admin.path), guard=guard, snapshot=snapshot, now=now))
    if stale:
        print(
            f"STALE: the bot last wrote its figures {age or 0:.0f} s ago (more than "
            f"{STALE_LOOPS} loops of {stale_after(config) / STALE_LOOPS:g} s): it is not running, "
            "or not looping"
        )
    print(*heading, sep="\n")
    if figures is not None:
        print("\n".join(checks_table(figures["checks"])))
    return 0
