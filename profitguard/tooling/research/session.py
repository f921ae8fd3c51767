"""One `profitguard sweep` run, from the loaded strategy to the printed results.

The command parses and checks its flags; this module records the entries,
evaluates the ladders (locally or on Ray), ranks them, walks forward, verifies
and writes what was asked for. Errors the user can fix are `SweepUsage`, whose
message names the flag and the value.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from profitguard.tooling.research import ladder_figures as fg
from profitguard.tooling.research import output
from profitguard.tooling.research.runner import Variant


class SweepUsage(ValueError):
    """Bad input found while running (the message names the flag and value)."""


def baselines(
    stop_pct: float, target_pct: float, strategy_params: dict
) -> list[tuple[str, Variant]]:
    """The strategy's own exits and `compare`'s baselines, as the engine runs them."""
    from profitguard.engine import ProtectionConfig
    from profitguard.report.policies import default_policies

    out = []
    for policy in default_policies(stop_pct, target_pct):
        if policy.is_baseline:
            out.append((policy.name, Variant(params=strategy_params)))
            continue
        exits = dict(policy.exits or {})
        trailing = policy.freqtrade_trailing
        name = policy.name
        if trailing:  # Freqtrade's trailing stop, as the engine's trailing distance
            exits["trail_pct"] = trailing["trailing_stop_positive"]
            exits["trail_activation_pct"] = trailing.get("trailing_stop_positive_offset", 0.0)
            name += " (engine)"
        config = ProtectionConfig.from_mapping(exits, source="baseline")
        out.append((name, Variant(config=config, stop_ratio=policy.fixed_stop_pct)))
    return out


def choose_verified(ranked: list[int], k: int, seed: int) -> list[int]:
    """The best, the worst, then random others (seeded), k in all."""
    chosen: list[int] = []
    for i in ranked[:1] + ranked[-1:]:
        if i not in chosen and len(chosen) < k:
            chosen.append(i)
    rest = [i for i in ranked if i not in chosen]
    random.Random(seed).shuffle(rest)
    return chosen + rest[: max(0, k - len(chosen))]


def run(
    args, config: dict, files: list[Path], strategy, fixed: tuple[float, float], say, heatmap
) -> int:
    from profitguard.freqtrade.loss import r_score
    from profitguard.tooling.research import space as sp
    from profitguard.tooling.research.recording import BacktestFailed, BacktestSetup, record
    from profitguard.tooling.research.runner import default_workers, run_local, run_ray

    space = sp.space_of(strategy)
    name = type(strategy).__name__
    if not space.dimensions:
        raise SweepUsage(
            f"argument --strategy: {name} has no 'profitguard' hyperopt space (subclass "
            "ProfitGuardHyperoptStrategy or ProfitGuardPctHyperoptStrategy)"
        )
    base = strategy.profitguard_settings.exits
    if base.trail_atr_multiple is not None:
        raise SweepUsage(
            f"argument --strategy: {name} trails by ATR (exits.trail_atr_multiple), which the "
            "sweep does not replay"
        )
    try:
        points = (
            sp.load_grid(space, args.grid)
            if args.grid is not None
            else sp.sample(space, args.trials, args.seed)
        )
    except sp.SpaceError as exc:
        raise SweepUsage(f"argument --grid: {exc}") from None
    axes = heatmap(space)
    if args.ray:  # before the backtest: an unreachable cluster fails at once
        from profitguard.tooling.research.runner import RayUnavailable, check_ray_address

        try:
            check_ray_address(args.ray)
        except RayUnavailable as exc:
            raise SweepUsage(f"argument --ray: {exc}") from None
    started = time.monotonic()
    from profitguard.report import same_entries

    try:
        unit = same_entries.risk_unit(config)
    except ValueError as exc:
        raise SweepUsage(f"argument --config: {exc}") from None
    setup = BacktestSetup(
        files=files,
        userdir=Path(config["user_data_dir"]),
        datadir=Path(config["datadir"]),
        pairs=list(config["exchange"]["pair_whitelist"]),
        risk_unit=unit,
        timerange=args.timerange,
    )
    strategy_file = Path(strategy.__file__).resolve()
    with tempfile.TemporaryDirectory(prefix="profitguard-sweep-") as tmp:
        work = Path(tmp)
        try:
            rec = record(
                setup,
                name,
                strategy_file,
                strategy.timeframe,
                config.get("dataformat_ohlcv"),
                work,
                say,
            )
        except BacktestFailed as exc:
            print(f"profitguard sweep: error: {exc}", file=sys.stderr)
            return 1
        folds = None
        if args.walk_forward:
            from profitguard.tooling.research.walkforward import windows

            try:
                folds = windows(
                    rec.start_ms,
                    rec.end_ms,
                    int(args.train * 86_400_000),
                    int(args.test * 86_400_000),
                    args.anchored,
                )
            except ValueError as exc:
                raise SweepUsage(
                    f"argument --train: {args.train:g}d with --test {args.test:g}d: {exc}"
                ) from None
        named = baselines(*fixed, space.current())
        variants = [Variant(params=p) for p in points] + [v for _, v in named]
        say(
            f"==> evaluating {len(points)} ladders and {len(named)} baselines on "
            f"{len(rec.entries)} entries"
        )
        n = len(points)
        table = Summaries(len(variants), len(rec.entries), n, keep=folds is not None, score=r_score)
        t0, cpu0 = time.monotonic(), time.process_time()
        with _progress(len(variants)) as advance:
            if args.ray:
                from profitguard.tooling.research.runner import RayUnavailable

                try:
                    run_ray(args.ray, base, variants, rec.entries, rec.candles, advance, table)
                except RayUnavailable as exc:
                    raise SweepUsage(f"argument --ray: {exc}") from None
            else:
                workers = args.workers or default_workers()
                run_local(base, variants, rec.entries, rec.candles, workers, advance, table)
        evaluated = time.monotonic() - t0
        say(
            f"==> {len(variants)} evaluated in {evaluated:.1f}s "
            f"({len(variants) / evaluated * 60:.0f} per minute; this process's CPU "
            f"{time.process_time() - cpu0:.1f}s)"
        )
        scores, figs = table.scores, table.figures
        ranked = fg.rank(scores[:n])
        open_ms = np.array([e.open_ms for e in rec.entries], dtype=np.int64)

        wf = wf_json = None
        wf_baselines: list = []
        rows = table.rows  # the R rows kept: every ladder's with walk-forward, else none
        if folds is not None:
            from profitguard.tooling.research.walkforward import in_window, walk_forward

            wf = walk_forward(rows.r[:n], rows.close[:n], open_ms, folds, r_score, seed=args.seed)
            wf_json = output.walk_forward_json(wf, lambda c: points[c])
            tested = np.concatenate([in_window(open_ms, w.test_start, w.test_end) for w in folds])
            wf_baselines = [
                (bname, float(table.base_r[b][tested].mean()) if len(tested) else 0.0, len(tested))
                for b, (bname, _) in enumerate(named)
            ]

        verified = []
        chosen = choose_verified(ranked, args.verify, args.seed)
        if chosen:
            from profitguard.engine.ladder_space import ladder_from_params
            from profitguard.tooling.research.evaluate import outcomes
            from profitguard.tooling.research.runner import prepared
            from profitguard.tooling.research.verify import verify

            prep = prepared(rec.entries, rec.candles)
            paths = prep.paths

            def outcomes_of(params):
                return outcomes(ladder_from_params(base, params), prep)

            verified = verify(
                setup,
                name,
                strategy_file,
                [(i, points[i]) for i in chosen],
                paths,
                outcomes_of,
                work,
                say,
            )
    seconds = time.monotonic() - started

    choice = points[wf.folds[-1].config] if wf is not None and wf.folds else points[ranked[0]]
    if args.export_params is not None:
        args.export_params.write_text(json.dumps(sp.params_file(name, choice), indent=2))
    result = output.json_out(
        configs_evaluated=n,
        entries=len(rec.entries),
        seconds=round(seconds, 3),
        ranking=[output.row_json(points[i], figs[i]) for i in ranked],
        baselines=[
            {"name": bname, **output.row_json(v.params, figs[n + b])}
            for b, (bname, v) in enumerate(named)
        ],
        verify=[v.to_json() for v in verified],
        walk_forward=wf_json,
    )
    if args.json:
        print(json.dumps(result))
    else:
        top = ranked[: args.top]
        output.print_ranking(
            [(i, figs[i], scores[i]) for i in top],
            [(bname, figs[n + b], scores[n + b]) for b, (bname, _) in enumerate(named)],
            name,
            n,
        )
        output.print_params(f"best #{ranked[0] + 1}", points[ranked[0]])
        if verified:
            output.print_verify(verified, chosen)
        if wf_json is not None:
            output.print_walk_forward(wf_json, [f.config for f in wf.folds], wf_baselines)
        print(
            f"{n} ladders on {len(rec.entries)} entries in {seconds:.1f}s "
            f"(evaluation {evaluated:.1f}s); R against the strategy's initial stop, fees "
            "included; score = ProfitGuardRLoss (expectancy net of max drawdown)"
        )
        if args.export_params is not None:
            print(f"wrote {args.export_params}")
    if args.html is not None:
        from profitguard.tooling.research.runner import Matrix, evaluate_variants, prepared
        from profitguard.tooling.research.sweep_page import sweep_page

        if rows is None:  # the best ladder's row, evaluated again (no matrix was kept)
            rows = Matrix(n, len(rec.entries))
            best = ranked[0]
            rows.r[best], rows.close[best] = (
                a[0]
                for a in evaluate_variants(
                    base, [variants[best]], prepared(rec.entries, rec.candles)
                )
            )
        args.html.write_text(
            sweep_page(
                result,
                points,
                [f["expectancy_r"] for f in figs[:n]],
                rows.r,
                rows.close,
                axes,
                wf,
                table.base_r,
                table.base_close,
                [b for b, _ in named],
                name,
            )
        )
        if not args.json:
            print(f"wrote {args.html}")
    ok = all(v.identical for v in verified)
    return 0 if ok else 1


class Summaries:
    """The sink the evaluation streams into: each ladder's score and figures as its
    row arrives; the rows themselves only when walk-forward needs them (and the
    baselines' always), so a sweep's memory does not grow with its ladders."""

    def __init__(self, total: int, entries: int, ladders: int, *, keep: bool, score) -> None:
        from profitguard.tooling.research.runner import Matrix

        self.ladders = ladders
        self.score = score
        self.scores: list[float] = [0.0] * total
        self.figures: list[dict] = [{}] * total
        self.rows = Matrix(ladders, entries) if keep else None
        self.base_r = np.empty((total - ladders, entries))
        self.base_close = np.empty((total - ladders, entries), dtype=np.int64)

    def __call__(self, lo: int, hi: int, r: np.ndarray, close: np.ndarray) -> None:
        for k in range(hi - lo):
            i = lo + k
            order = fg.closing_order(close[k])
            in_order = r[k][order].tolist()
            self.scores[i] = self.score(in_order)
            self.figures[i] = fg.figures(in_order)
            if i >= self.ladders:
                self.base_r[i - self.ladders], self.base_close[i - self.ladders] = r[k], close[k]
            elif self.rows is not None:
                self.rows.r[i], self.rows.close[i] = r[k], close[k]


class _progress:
    """A progress bar on stderr (rich, as Freqtrade's hyperopt shows one)."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._bar = Progress(
            "evaluating",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._bar.start()
        task = self._bar.add_task("sweep", total=self.total)
        return lambda k: self._bar.advance(task, k)

    def __exit__(self, *exc: Any) -> None:
        self._bar.stop()
