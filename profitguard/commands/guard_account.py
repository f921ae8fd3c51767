"""`profitguard guard …` on a shared account: when the bot's config names one
(`profitguard.risk.account`), the switches are the account's and hold for every bot
in it (each reads them at every loop); `status` lists every bot with its heartbeat,
what each holds and reserves, and the account's limits against its figures.

Only the config's `profitguard.risk.account` is read here (not a strategy's own
`profitguard_config`).
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from profitguard.commands.usage import UsageError


def account_of(config: dict) -> Any:
    """The config's shared account (`AccountConfig`), or None when it names none."""
    from profitguard.engine import ConfigError
    from profitguard.risk.config import account_from_mapping

    section = config.get("profitguard", {})
    risk = section.get("risk", {}) if isinstance(section, dict) else {}
    raw = risk.get("account") if isinstance(risk, dict) else None
    if raw is None:
        return None
    try:
        return account_from_mapping(
            raw, source="profitguard.risk.account", stake_currency=config.get("stake_currency")
        )
    except ConfigError as exc:
        raise UsageError(f"--config: {exc}") from None


def _who() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


def run(args: argparse.Namespace, account: Any) -> int:
    from profitguard.account.snapshot import AccountSwitches
    from profitguard.account.store import AccountError, AccountStore
    from profitguard.risk import state as st

    store = AccountStore(account.db_url, account.name, reservation_ttl=account.reservation_ttl)
    try:
        if args.action == "status":
            return show(store.snapshot(), account, as_json=args.json)
        if args.action == "forget":
            return forget(store, account, args.bot, confirm=args.confirm)
        if args.action == "reset" and not args.confirm:
            raise UsageError(
                "reset lifts the account's kill switch and every pause, for every bot; "
                "run it again with --confirm"
            )
        reason = args.reason or f"profitguard guard {args.action}"
        who = _who()

        def change(current: AccountSwitches, now: datetime) -> AccountSwitches:
            guard = current.guard
            if args.action == "pause":
                return replace(current, guard=st.pause(guard, reason, now), paused_by=who)
            if args.action == "resume":
                return replace(current, guard=st.resume(guard, now), paused_by=None)
            if args.action == "kill":
                return replace(current, guard=st.kill(guard, reason, now), halted_by=who)
            return AccountSwitches(guard=st.reset(guard, now))

        try:
            new = store.set_switches(change)
        except st.GuardActionError as exc:
            raise UsageError(f"account {account.name!r}: {exc}") from None
    except AccountError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        store.close()
    print(f"{args.action}: done on account {account.name!r} (every bot in it); {_line(new)}")
    if args.action == "kill":
        print(
            "every bot of the account refuses entries and exits every open trade at its next loop"
        )
    return 0


def forget(store: Any, account: Any, bot: str | None, *, confirm: bool) -> int:
    """Take a retired bot out of the account: its row, positions and reservations (a stale
    bot's positions otherwise count for ever); its closed trades stay (their losses
    happened). Refused while it is alive."""
    from profitguard.account.store import BotAlive

    if not bot:
        raise UsageError("forget: give the bot's --bot NAME (its bot_name)")
    if not confirm:
        raise UsageError(
            f"forget drops bot {bot!r}'s positions from account {account.name!r}: close them "
            "on the exchange first, then run it again with --confirm"
        )
    try:
        dropped = store.forget(bot, alive_within=account.heartbeat_stale)
    except BotAlive as exc:
        raise UsageError(str(exc)) from None
    if dropped is None:
        raise UsageError(f"--bot: no bot {bot!r} in account {account.name!r}")
    print(
        f"forget: bot {bot!r} left account {account.name!r}; {dropped} position(s) and "
        "reservation(s) no longer counted, its closed trades kept"
    )
    return 0


def _switch(on: bool, since: datetime | None, reason: str | None, by: str | None) -> str:
    if not on:
        return "off"
    when = f"{since:%Y-%m-%d %H:%M:%S} UTC" if since is not None else "?"
    return f"ON since {when} by {by or '?'}: {reason or '-'}"


def _line(switches: Any) -> str:
    g = switches.guard
    return (
        f"kill switch {_switch(g.halted, g.halted_at, g.halted_reason, switches.halted_by)}; "
        f"pause {_switch(g.paused, g.paused_at, g.paused_reason, switches.paused_by)}"
    )


def figures(snapshot: Any, account: Any, now: datetime) -> dict[str, Any]:
    """The account as JSON: its state and switches, every bot with its heartbeat (stale
    or not), what each holds and reserves, its limits against its figures now."""
    from profitguard.account.snapshot import account_of as book_account
    from profitguard.risk.account_config import AccountEquity
    from profitguard.risk.pipeline import account_state, portfolio_checks

    stale_after = account.heartbeat_stale
    if account.equity is AccountEquity.SUM:
        equity = sum(b.equity for b in snapshot.bots if b.equity is not None)
    else:  # every bot reads the same balance: the latest a live bot published
        seen = [b for b in snapshot.bots if b.equity is not None]
        fresh = [b for b in seen if not b.stale(stale_after)] or seen
        equity = fresh[0].equity if fresh else 0.0
    book = book_account(snapshot, now=now, equity=equity)
    state, checks = account_state(account.limits, snapshot.switches.guard, book)
    checks += portfolio_checks(account.limits, book)
    bots = [
        {
            "bot": b.bot,
            "heartbeat_at": b.heartbeat_at.isoformat() if b.heartbeat_at else None,
            "heartbeat_age_s": round(b.age, 1) if b.age is not None else None,
            "stale": b.stale(stale_after),
            "equity": b.equity,
            "host": b.host,
            "trades_db": b.db_url,
            "positions": _pairs(snapshot, b.bot, reserved=False),
            "reserved": _pairs(snapshot, b.bot, reserved=True),
        }
        for b in snapshot.bots
    ]
    return {
        "account": snapshot.name,
        "state": state.value,
        "guard": snapshot.switches.guard.to_json(),
        "halted_by": snapshot.switches.halted_by,
        "paused_by": snapshot.switches.paused_by,
        "equity": equity,
        "equity_mode": account.equity.value,
        "heartbeat_stale_s": stale_after,
        "bots": bots,
        "checks": [c.as_json() for c in checks],
    }


def account_figures(account: Any, now: datetime) -> dict[str, Any]:
    """`figures` read now (the dashboard), or the error reading the account."""
    from profitguard.account.store import AccountError, AccountStore

    store = AccountStore(account.db_url, account.name)
    try:
        return figures(store.snapshot(), account, now)
    except AccountError as exc:
        return {"account": account.name, "error": str(exc)}
    finally:
        store.close()


def show(snapshot: Any, account: Any, *, as_json: bool) -> int:
    """`guard status` on the account (`figures`, as text or JSON)."""
    from profitguard.risk.gate_text import checks_table

    out = figures(snapshot, account, datetime.now(UTC))
    if as_json:
        print(json.dumps(out))
        return 0
    equity, mode = out["equity"], out["equity_mode"]
    print(f"account {snapshot.name!r}: {out['state']}, equity {equity:.2f} ({mode})")
    print(_line(snapshot.switches))
    bots = out["bots"]
    print(f"bots ({len(bots)}; stale: no heartbeat for more than {out['heartbeat_stale_s']:g} s):")
    for b in bots:
        age = f"{b['heartbeat_age_s']:.0f} s ago" if b["heartbeat_age_s"] is not None else "never"
        mark = "STALE" if b["stale"] else "ok"
        held = ", ".join(b["positions"]) or "-"
        reserved = f"; reserved {', '.join(b['reserved'])}" if b["reserved"] else ""
        print(f"  {b['bot']}: heartbeat {age} [{mark}]; holds {held}{reserved}")
    print("\n".join(checks_table(out["checks"])))
    return 0


def _pairs(snapshot: Any, bot: str, *, reserved: bool) -> list[str]:
    return sorted(h.position.pair for h in snapshot.held if h.bot == bot and h.reserved == reserved)
