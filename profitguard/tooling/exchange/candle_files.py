"""Freqtrade-format OHLCV files in a data directory: find them, read them lazily.

Reads feather, parquet, json and json.gz files named as Freqtrade names spot data
(``BTC_USDT-5m.feather``) with pyarrow and the json module only, so the server starts
without importing pandas or Freqtrade. Futures data lives where Freqtrade keeps it, in
the ``futures/`` folder, one candle type per file (``BTC_USDT_USDT-5m-futures.feather``,
``-1h-mark``, ``-1h-funding_rate``): ``scan(datadir, "mark")`` finds one type.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from profitguard.tooling.exchange.ohlcv import Candles, timeframe_ms

logger = logging.getLogger(__name__)

# preference when the same pair and timeframe exist in several formats
FORMATS = ("feather", "parquet", "json", "json.gz")
_FILE_RE = re.compile(
    r"^(?P<pair>[\w-]+?)-(?P<tf>\d+(?:s|m|h|d|w|Mo))(?:-(?P<ctype>[a-z_]+))?"
    r"\.(?P<ext>feather|parquet|json|json\.gz)$"
)


SPOT = "spot"
FUTURES_DIR = "futures"


def pair_from_filename(stem: str, candle_type: str = SPOT) -> str:
    """Freqtrade's rule: the first '_' separates base and quote ('ETH_BTC' -> 'ETH/BTC');
    in futures files the second one the settle currency ('BTC_USDT_USDT' -> 'BTC/USDT:USDT')."""
    pair = stem.replace("_", "/", 1)
    return pair if candle_type == SPOT else pair.replace("_", ":", 1)


def pair_to_filename(pair: str) -> str:
    """Freqtrade's rule (freqtrade.misc.pair_to_filename)."""
    for ch in ["/", " ", ".", "@", "$", "+", ":"]:
        pair = pair.replace(ch, "_")
    return pair


@dataclass(frozen=True)
class DataFile:
    pair: str
    timeframe: str
    path: Path
    fmt: str


def scan(datadir: Path, candle_type: str = SPOT) -> dict[tuple[str, str], DataFile]:
    """OHLCV files of one candle type keyed by (pair, timeframe): spot files in
    ``datadir``, the other types (futures, mark, funding_rate) in ``datadir/futures``."""
    found: dict[tuple[str, str], DataFile] = {}
    folder = datadir if candle_type == SPOT else datadir / FUTURES_DIR
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        match = _FILE_RE.match(path.name)
        if not match or not path.is_file() or "_" not in match["pair"]:
            continue
        if (match["ctype"] or SPOT) != candle_type:
            continue
        timeframe = match["tf"].replace("Mo", "M")
        if timeframe.endswith("M"):
            continue  # calendar months are not served
        pair = pair_from_filename(match["pair"], candle_type)
        data = DataFile(pair, timeframe, path, match["ext"])
        key = (data.pair, data.timeframe)
        previous = found.get(key)
        if previous is None or FORMATS.index(data.fmt) < FORMATS.index(previous.fmt):
            if previous is not None:
                logger.info("%s: using %s, ignoring %s", key, data.path.name, previous.path.name)
            found[key] = data
    return found


def read_candles(path: Path) -> Candles:
    """Read one Freqtrade OHLCV file into candles (open times in epoch ms).

    A funding-rate file (``date, funding_rate``; older files kept the rate in ``open``)
    reads as candles whose four prices are the rate, with no volume."""
    name = path.name
    if name.endswith((".json", ".json.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as fh:
            rows = json.load(fh)
        if not rows:
            return Candles.empty()
        arr = np.asarray(rows, dtype=np.float64)[:, :6]
        if arr.shape[1] == 2:  # date, funding_rate
            rate = arr[:, 1]
            return Candles.from_columns(
                arr[:, 0].astype(np.int64), rate, rate, rate, rate, 0 * rate
            )
        return Candles.from_columns(arr[:, 0].astype(np.int64), *arr[:, 1:].T)
    import pyarrow as pa

    if name.endswith(".feather"):
        import pyarrow.feather as feather

        table = feather.read_table(path)
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    date = table.column("date")
    if pa.types.is_timestamp(date.type):
        date = date.cast(pa.timestamp("ms", tz=date.type.tz)).cast(pa.int64())
    ts = date.to_numpy().astype(np.int64)
    if "funding_rate" in table.column_names:
        rate = table.column("funding_rate").to_numpy().astype(np.float64)
        return Candles.from_columns(ts, rate, rate, rate, rate, np.zeros_like(rate))
    cols = [
        table.column(c).to_numpy().astype(np.float64)
        for c in ("open", "high", "low", "close", "volume")
    ]
    return Candles.from_columns(ts, *cols)


class CandleStore:
    """Lazily loaded candles of one data directory, safe to share between threads."""

    def __init__(self, datadir: Path | None, candle_type: str = SPOT) -> None:
        self.datadir = Path(datadir) if datadir is not None else None
        self.candle_type = candle_type
        self.files = scan(self.datadir, candle_type) if self.datadir is not None else {}
        self._cache: dict[tuple[str, str], Candles] = {}
        self._lock = threading.Lock()

    @classmethod
    def empty(cls) -> CandleStore:
        """A store without a directory: no data."""
        return cls(None)

    def pairs(self) -> list[str]:
        return sorted({pair for pair, _ in self.files})

    def timeframes(self, pair: str) -> list[str]:
        return sorted((tf for p, tf in self.files if p == pair), key=timeframe_ms)

    def candles(self, pair: str, timeframe: str) -> Candles:
        key = (pair, timeframe)
        with self._lock:
            if key not in self._cache:
                data = self.files.get(key)
                self._cache[key] = read_candles(data.path) if data else Candles.empty()
            return self._cache[key]

    def finest(self, pair: str) -> Candles:
        """The pair's candles of the shortest timeframe on disk (empty if none)."""
        tfs = self.timeframes(pair)
        return self.candles(pair, tfs[0]) if tfs else Candles.empty()
