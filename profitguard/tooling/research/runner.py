"""Evaluate many ladders over the recorded entries: in this process, in worker
processes, or on a Ray cluster, with the same result bit for bit.

Each configuration is evaluated by the same function wherever it runs, and its
row of the R matrix goes back to its own place: the matrix, and so the ranking,
does not depend on how the work was spread. Workers receive the entries and
candles once (a process pool's initializer; Ray's object store) and build the
entry paths once per process.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np

from profitguard.engine import ProtectionConfig
from profitguard.engine.ladder_space import ladder_from_params
from profitguard.tooling.research.evaluate import Prepared, outcomes, prepare
from profitguard.tooling.research.paths import Entry, EntryPath, PairCandles, entry_path

Progress = Callable[[int], None]
CHUNK = 8  # configurations per task


@dataclass(frozen=True)
class Variant:
    """One configuration to evaluate: hyperopt parameters over `base`, or a whole
    config (baselines); `stop_ratio` opens each entry with a fixed stop."""

    params: dict[str, Any] | None = None
    config: ProtectionConfig | None = None
    stop_ratio: float | None = None


def build_paths(entries: Sequence[Entry], candles: dict[str, PairCandles]) -> list[EntryPath]:
    return [entry_path(e, candles[e.pair]) for e in entries]


def prepared(entries: Sequence[Entry], candles: dict[str, PairCandles]) -> Prepared:
    return prepare(build_paths(entries, candles))


def evaluate_variants(
    base: ProtectionConfig, variants: Sequence[Variant], prep: Prepared
) -> tuple[np.ndarray, np.ndarray]:
    """R (variants x entries) and close times in ms (variants x entries)."""
    r = np.empty((len(variants), len(prep.paths)))
    close = np.empty((len(variants), len(prep.paths)), dtype=np.int64)
    for i, v in enumerate(variants):
        for j, o in enumerate(outcomes(config_of(base, v), prep, v.stop_ratio)):
            r[i, j] = o.r
            close[i, j] = o.close_ms
    return r, close


def config_of(base: ProtectionConfig, variant: Variant) -> ProtectionConfig:
    if variant.config is not None:
        return variant.config
    return ladder_from_params(base, variant.params or {})


# --- worker processes -------------------------------------------------------------

_PREPARED: list[Prepared] = []


def _init_worker(entries: Sequence[Entry], candles: dict[str, PairCandles]) -> None:
    _PREPARED[:] = [prepared(entries, candles)]


def _worker_chunk(base: ProtectionConfig, variants: Sequence[Variant]):
    return evaluate_variants(base, variants, _PREPARED[0])


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


Sink = Callable[[int, int, np.ndarray, np.ndarray], None]


class Matrix:
    """A sink that keeps every row: R and close times, configurations x entries."""

    def __init__(self, n: int, entries: int) -> None:
        self.r = np.empty((n, entries))
        self.close = np.empty((n, entries), dtype=np.int64)

    def __call__(self, lo: int, hi: int, r: np.ndarray, close: np.ndarray) -> None:
        self.r[lo:hi], self.close[lo:hi] = r, close


def run_local(
    base: ProtectionConfig,
    variants: Sequence[Variant],
    entries: Sequence[Entry],
    candles: dict[str, PairCandles],
    workers: int,
    progress: Progress | None = None,
    sink: Sink | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """All `variants`, on `workers` processes (1: in this process). Each chunk of
    rows (variants lo..hi) goes to `sink` as it is done; without a sink the whole
    matrices (R, close times) are returned."""
    keep = Matrix(len(variants), len(entries)) if sink is None else None
    put = sink or keep
    spans = _chunks(len(variants), CHUNK)
    if workers <= 1:
        prep = prepared(entries, candles)
        for lo, hi in spans:
            put(lo, hi, *evaluate_variants(base, variants[lo:hi], prep))
            if progress:
                progress(hi - lo)
    else:
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(list(entries), candles),
        ) as pool:
            futures = {
                pool.submit(_worker_chunk, base, variants[lo:hi]): (lo, hi) for lo, hi in spans
            }
            for future in as_completed(futures):
                lo, hi = futures[future]
                put(lo, hi, *future.result())
                if progress:
                    progress(hi - lo)
    return None if keep is None else (keep.r, keep.close)


# --- Ray --------------------------------------------------------------------------

_RAY_PREPARED: dict[str, Prepared] = {}


def _ray_chunk(token: str, data, base: ProtectionConfig, variants: Sequence[Variant]):
    prep = _RAY_PREPARED.get(token)
    if prep is None:
        _RAY_PREPARED.clear()
        prep = _RAY_PREPARED[token] = prepared(*data)
    return evaluate_variants(base, variants, prep)


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached."""


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """Ray importable, and for host:port something listening there."""
    import importlib.util
    import socket

    if importlib.util.find_spec("ray") is None:
        raise RayUnavailable("Ray is not installed: pip install 'profitguard[ray]'")
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"{address!r} is neither 'auto' nor host:port")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise RayUnavailable(f"no Ray cluster answers at {address} ({exc})") from None


def connect_ray(address: str) -> Any:
    """`ray.init` on a running cluster (`auto` or host:port); RayUnavailable if not."""
    check_ray_address(address)
    import ray

    try:
        ray.init(
            address=address,
            logging_level="ERROR",
            log_to_driver=False,
            configure_logging=True,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"cannot connect to a Ray cluster at {address}: {exc}") from None
    return ray


def run_ray(
    address: str,
    base: ProtectionConfig,
    variants: Sequence[Variant],
    entries: Sequence[Entry],
    candles: dict[str, PairCandles],
    progress: Progress | None = None,
    sink: Sink | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """All `variants` on the Ray cluster at `address`; entries and candles are put
    into the object store once and every task reads them from there. Chunks go to
    `sink` as `run_local`'s do."""
    import uuid

    ray = connect_ray(address)
    keep = Matrix(len(variants), len(entries)) if sink is None else None
    put = sink or keep
    try:
        data = ray.put((list(entries), candles))
        task = ray.remote(num_cpus=1)(_ray_chunk)
        token = uuid.uuid4().hex
        pending = {
            task.remote(token, data, base, list(variants[lo:hi])): (lo, hi)
            for lo, hi in _chunks(len(variants), CHUNK)
        }
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                lo, hi = pending.pop(ref)
                put(lo, hi, *ray.get(ref))
                if progress:
                    progress(hi - lo)
    finally:
        ray.shutdown()
    return None if keep is None else (keep.r, keep.close)


def configs_per_minute(count: int, seconds: float) -> float:
    return count / seconds * 60.0 if seconds > 0 else math.inf
