"""What `profitguard sweep` prints: Freqtrade-style tables, and its `--json` object.

The JSON object is a contract scripts rely on: `configs_evaluated`, `entries`,
`seconds`, `ranking` (best first: `params`, `trades`, `win_rate`, `expectancy_r`,
`profit_factor`, `max_drawdown_r`), `baselines` (the same plus `name`), `verify`
(`params`, `trades`, `identical`, `max_r_diff`) and, with walk-forward,
`walk_forward` (`folds`, `out_of_sample_expectancy_r`, `ci95`, `efficiency`, `pbo`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

FIGURES = ("trades", "win_rate", "expectancy_r", "profit_factor", "max_drawdown_r")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def row_json(params: dict | None, fig: dict) -> dict:
    return {"params": params, **{k: fig[k] for k in FIGURES}}


def fold_json(fold, params: dict) -> dict:
    w = fold.window
    return {
        "train_start": _iso(w.train_start),
        "train_end": _iso(w.train_end),
        "test_start": _iso(w.test_start),
        "test_end": _iso(w.test_end),
        "params": params,
        "in_sample_expectancy_r": fold.in_sample_expectancy_r,
        "out_of_sample_expectancy_r": fold.out_of_sample_expectancy_r,
        "out_of_sample_trades": fold.out_of_sample_trades,
    }


def walk_forward_json(wf, params_of) -> dict:
    return {
        "folds": [fold_json(f, params_of(f.config)) for f in wf.folds],
        "out_of_sample_expectancy_r": wf.out_of_sample_expectancy_r,
        "ci95": wf.ci95,
        "efficiency": wf.efficiency,
        "pbo": wf.pbo,
    }


def _r(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:+.{digits}f}"


def _num(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


HEADERS = ("Score (RLoss)", "Trades", "Win rate", "Expectancy R", "Profit factor", "Max DD (R)")


def _figure_cells(fig: dict, score: float) -> tuple[str, ...]:
    return (
        _r(score),
        str(fig["trades"]),
        f"{fig['win_rate']:.1%}",
        _r(fig["expectancy_r"]),
        _num(fig["profit_factor"]),
        _num(fig["max_drawdown_r"]),
    )


def print_ranking(
    rows: list[tuple[int, dict, float]],
    baselines: list[tuple[str, dict, float]],
    strategy: str,
    total: int,
) -> None:
    from profitguard.report.tables import print_table

    body = [(f"#{i + 1}", *_figure_cells(fig, score)) for i, fig, score in rows]
    print_table(
        body, ("Config", *HEADERS), f"SWEEP: {strategy}, best {len(rows)} of {total} ladders"
    )
    print_table(
        [(name, *_figure_cells(fig, score)) for name, fig, score in baselines],
        ("Baseline", *HEADERS),
        "BASELINES ON THE SAME ENTRIES",
    )


def print_params(label: str, params: dict) -> None:
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    print(f"{label}: {shown}")


def print_verify(verified, indices: list[int]) -> None:
    from profitguard.report.tables import print_table

    print_table(
        [
            (f"#{i + 1}", str(v.trades), "yes" if v.identical else "NO", f"{v.max_r_diff:.2e}")
            for i, v in zip(indices, verified, strict=True)
        ],
        ("Config", "Trades", "Identical", "Max R diff"),
        "VERIFIED AS FREQTRADE BACKTESTS (every exit within one tick, R within 1e-6)",
    )
    for i, v in zip(indices, verified, strict=True):
        for d in v.differences[:5]:
            print(f"  #{i + 1} differs: {d}")
        if len(v.differences) > 5:
            print(f"  #{i + 1}: {len(v.differences) - 5} more differences")


def print_walk_forward(
    wf_json: dict, configs_of_folds: list[int], baselines: list[tuple[str, float, int]]
) -> None:
    from profitguard.report.tables import print_table

    rows = []
    for n, (f, c) in enumerate(zip(wf_json["folds"], configs_of_folds, strict=True), 1):
        rows.append(
            (
                str(n),
                f"{f['train_start'][:10]} .. {f['train_end'][:10]}",
                f"{f['test_start'][:10]} .. {f['test_end'][:10]}",
                f"#{c + 1}",
                _r(f["in_sample_expectancy_r"]),
                _r(f["out_of_sample_expectancy_r"]),
                str(f["out_of_sample_trades"]),
            )
        )
    print_table(
        rows,
        ("Fold", "Train", "Test", "Chosen", "IS expectancy R", "OOS expectancy R", "OOS trades"),
        "WALK-FORWARD",
    )
    low, high = wf_json["ci95"]
    summary = [
        (
            "Out-of-sample expectancy R",
            f"{_r(wf_json['out_of_sample_expectancy_r'])} (95% CI {_r(low)} .. {_r(high)})",
        ),
        ("Walk-forward efficiency (OOS / IS)", _num(wf_json["efficiency"])),
        ("PBO (CSCV)", _num(wf_json["pbo"])),
    ]
    summary += [
        (f"{name}, out of sample", f"{_r(exp)} R over {n} trades") for name, exp, n in baselines
    ]
    print_table(summary, ("Walk-forward", "Value"), "OUT OF SAMPLE")


def json_out(**fields: Any) -> dict:
    """The contract's keys, in its order (walk_forward only when run)."""
    keys = ("configs_evaluated", "entries", "seconds", "ranking", "baselines", "verify")
    out = {k: fields[k] for k in keys}
    if fields.get("walk_forward") is not None:
        out["walk_forward"] = fields["walk_forward"]
    return out
