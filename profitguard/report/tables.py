"""Terminal tables of the R report, in Freqtrade's style (its own rich-table helper)."""

from __future__ import annotations

from collections.abc import Sequence

from profitguard.report.analytics import KindRow, LevelRow, Summary, TradeR


def _r(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:+.{digits}f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_table(rows: Sequence[Sequence[str]], headers: Sequence[str], title: str) -> None:
    from freqtrade.util.rich_tables import print_rich_table
    from rich.table import Column

    # the row names ("ladder stop", a pair) stay on one line in a narrow terminal
    first = Column(headers[0], justify="right", no_wrap=True)
    print_rich_table(rows, [first, *headers[1:]], summary=title)


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    return [
        ("Trades", str(summary.trades)),
        ("Win rate", f"{summary.win_rate:.1%} ({summary.wins} won)"),
        ("Expectancy (R per trade)", _r(summary.expectancy_r, 3)),
        ("Total R", _r(summary.total_r)),
        ("Avg win / avg loss (R)", f"{_r(summary.avg_win_r)} / {_r(summary.avg_loss_r)}"),
        ("Profit factor (in R)", _num(summary.profit_factor)),
        ("SQN", _num(summary.sqn)),
        ("Max drawdown (R)", _num(summary.max_drawdown_r)),
        ("Avg MFE / MAE (R)", f"{_r(summary.avg_mfe_r)} / {_r(summary.avg_mae_r)}"),
        ("Avg giveback from peak (R)", _num(summary.avg_giveback_r)),
    ]


def print_summary(summary: Summary, title: str) -> None:
    print_table(summary_rows(summary), ("Metric", "Value"), title)


def print_trades(rows: Sequence[TradeR], limit: int | None = None) -> None:
    shown = rows if limit is None else rows[-limit:]
    body = [
        (
            t.pair,
            t.open_date[:16].replace("T", " "),
            f"{t.entry:g}",
            f"{t.initial_stop:.8g}",
            _r(t.r),
            _r(t.mfe_r),
            _r(t.mae_r),
            ",".join(dict.fromkeys(k for k, *_ in t.exits)),
        )
        for t in shown
    ]
    title = "TRADES IN R (fees included)"
    if limit is not None and len(rows) > limit:
        title += f": the last {limit} of {len(rows)} (--trades all lists every one)"
    headers: tuple[str, ...] = ("Pair", "Open", "Entry", "Initial stop", "R", "MFE R", "MAE R")
    headers += ("Exits",)
    if any(t.bot is not None for t in rows):  # several bots' databases: whose trade it is
        body = [(t.bot or "-", *row) for t, row in zip(shown, body, strict=True)]
        headers = ("Bot", *headers)
    print_table(body, headers, title)


def print_distribution(bins: Sequence[tuple[str, int]], total: int) -> None:
    body = [
        (label, str(n), _pct(n / total if total else 0.0), "#" * round(40 * n / max(total, 1)))
        for label, n in bins
    ]
    print_table(body, ("R", "Trades", "Share", ""), "R DISTRIBUTION")


def print_levels(rows: Sequence[LevelRow], trades: int) -> None:
    body = [
        (
            r.level,
            r.target or "-",
            "-"
            if r.reached is None
            else f"{r.reached} ({_pct(r.reached / trades if trades else 0)})",
            f"{r.filled} ({_pct(r.fill_rate)})",
            _r(r.contributed_r),
            _r(r.per_trade_r, 3),
        )
        for r in rows
    ]
    print_table(
        body,
        ("Level", "Target", "Peak reached", "Filled", "R contributed", "R per trade"),
        "TAKE-PROFIT LEVELS (R after fees)",
    )


def print_kinds(rows: Sequence[KindRow]) -> None:
    body = [
        (
            r.kind,
            str(r.exits),
            str(r.trades),
            _pct(r.amount_share),
            _r(r.contributed_r),
            _r(r.avg_slippage_r, 3),
            "-" if r.avg_slippage_pct is None else f"{r.avg_slippage_pct:+.3%}",
        )
        for r in rows
    ]
    print_table(
        body,
        (
            "Exit",
            "Orders",
            "Trades",
            "Share of amount",
            "R contributed",
            "Slippage R",
            "Slippage %",
        ),
        "EXITS BY KIND (slippage: fill vs the price asked; + is better)",
    )


def print_bots(rows: Sequence[tuple[str, Summary]]) -> None:
    """Per bot (several bots' trades databases together), as per pair."""
    if rows:
        _print_groups(rows, "Bot", "PER BOT (R after fees)")


def print_pairs(rows: Sequence[tuple[str, Summary]]) -> None:
    _print_groups(rows, "Pair", "PER PAIR (R after fees)")


def _print_groups(rows: Sequence[tuple[str, Summary]], name: str, title: str) -> None:
    body = [
        (
            group,
            str(s.trades),
            _pct(s.win_rate),
            _r(s.expectancy_r, 3),
            _r(s.total_r),
            _num(s.profit_factor),
            _r(s.avg_mfe_r),
            _num(s.avg_giveback_r),
        )
        for group, s in rows
    ]
    print_table(
        body,
        (
            name,
            "Trades",
            "Win rate",
            "Expectancy R",
            "Total R",
            "Profit factor",
            "Avg MFE R",
            "Giveback R",
        ),
        title,
    )
