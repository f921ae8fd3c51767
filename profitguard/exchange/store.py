"""Freqtrade-format OHLCV files in a data directory: find them, read them lazily.

Reads feather, parquet, json and json.gz files named as Freqtrade names spot data
(``BTC_USDT-5m.feather``) with pyarrow and the json module only, so the server starts
without importing pandas or Freqtrade. Futures data (the ``futures/`` folder) is not
served: the offline exchange is spot only.
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

from profitguard.exchange.candles import Candles, timeframe_ms

logger = logging.getLogger(__name__)

# preference when the same pair and timeframe exist in several formats
FORMATS = ("feather", "parquet", "json", "json.gz")
_FILE_RE = re.compile(
    r"^(?P<pair>[\w-]+?)-(?P<tf>\d+(?:s|m|h|d|w|Mo))(?:-(?P<ctype>[a-z_]+))?"
    r"\.(?P<ext>feather|parquet|json|json\.gz)$"
)


def pair_from_filename(stem: str) -> str:
    """Freqtrade's rule: the first '_' separates base and quote ('ETH_BTC' -> 'ETH/BTC')."""
    return stem.replace("_", "/", 1)


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


def scan(datadir: Path) -> dict[tuple[str, str], DataFile]:
    """Spot OHLCV files in ``datadir`` keyed by (pair, timeframe)."""
    found: dict[tuple[str, str], DataFile] = {}
    if not datadir.is_dir():
        return found
    for path in sorted(datadir.iterdir()):
        match = _FILE_RE.match(path.name)
        if not match or not path.is_file() or "_" not in match["pair"]:
            continue
        if match["ctype"] not in (None, "spot"):
            continue
        timeframe = match["tf"].replace("Mo", "M")
        if timeframe.endswith("M"):
            continue  # calendar months are not served
        data = DataFile(pair_from_filename(match["pair"]), timeframe, path, match["ext"])
        key = (data.pair, data.timeframe)
        previous = found.get(key)
        if previous is None or FORMATS.index(data.fmt) < FORMATS.index(previous.fmt):
            if previous is not None:
                logger.info("%s: using %s, ignoring %s", key, data.path.name, previous.path.name)
            found[key] = data
    return found


def read_candles(path: Path) -> Candles:
    """Read one Freqtrade OHLCV file into candles (open times in epoch ms)."""
    name = path.name
    if name.endswith((".json", ".json.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt") as fh:
            rows = json.load(fh)
        if not rows:
            return Candles.empty()
        arr = np.asarray(rows, dtype=np.float64)[:, :6]
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
    cols = [
        table.column(c).to_numpy().astype(np.float64)
        for c in ("open", "high", "low", "close", "volume")
    ]
    return Candles.from_columns(ts, *cols)


class CandleStore:
    """Lazily loaded candles of one data directory, safe to share between threads."""

    def __init__(self, datadir: Path | None) -> None:
        self.datadir = Path(datadir) if datadir is not None else None
        self.files = scan(self.datadir) if self.datadir is not None else {}
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
