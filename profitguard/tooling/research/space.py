"""The `profitguard` hyperopt space of a strategy, and points sampled from it.

The space is read from the strategy's own parameters (Freqtrade's
`DecimalParameter`, `IntParameter`, `CategoricalParameter`/`BooleanParameter` in
space `profitguard`), so the names and ranges are the ones `freqtrade hyperopt`
would search, including ranges the user narrowed in their class. A parameter
declared with `optimize=False` keeps its value, as in hyperopt.

Sampling is space-filling and seeded: a scrambled Latin hypercube over the unit
cube, each coordinate mapped onto the parameter's grid (a Decimal's values are
`low + k * 10**-decimals`). Points that land on the same grid values are
evaluated once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from profitguard.engine.ladder_space import SPACE

Params = dict[str, Any]


class SpaceError(ValueError):
    """A point or grid file that is not in the space; the message names it."""


@dataclass(frozen=True)
class Dimension:
    name: str
    kind: str  # "decimal", "int" or "categorical"
    low: float = 0.0
    high: float = 0.0
    decimals: int = 0
    choices: tuple = ()
    value: Any = None  # the strategy's current value (default or its params file)
    optimize: bool = True

    @property
    def count(self) -> int:
        """How many values the dimension holds."""
        if self.kind == "categorical":
            return len(self.choices)
        if self.kind == "int":
            return int(self.high) - int(self.low) + 1
        return round((self.high - self.low) * 10**self.decimals) + 1

    def at(self, u: float) -> Any:
        """The value at `u` in [0, 1) of the unit interval."""
        k = min(int(u * self.count), self.count - 1)
        if self.kind == "categorical":
            return self.choices[k]
        if self.kind == "int":
            return int(self.low) + k
        return round(self.low + k * 10.0**-self.decimals, self.decimals)

    def holds(self, value: Any) -> bool:
        if self.kind == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return self.low - 1e-12 <= value <= self.high + 1e-12

    def describe(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(map(repr, self.choices))
        return f"{self.low:g} .. {self.high:g}"


@dataclass(frozen=True)
class Space:
    strategy: str
    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def current(self) -> Params:
        """The strategy's own values (its defaults, or its params file's)."""
        return {d.name: d.value for d in self.dimensions}

    def dimension(self, name: str) -> Dimension:
        for d in self.dimensions:
            if d.name == name:
                return d
        raise SpaceError(
            f"{name!r} is not a parameter of {self.strategy}'s {SPACE!r} space "
            f"(its parameters: {', '.join(self.names)})"
        )


def space_of(strategy: Any) -> Space:
    """The `profitguard` space of a loaded strategy instance (empty if it has none)."""
    from freqtrade.strategy import CategoricalParameter, DecimalParameter, IntParameter

    dims = []
    for name, p in strategy.enumerate_parameters(SPACE):
        optimize = bool(getattr(p, "optimize", True))
        if isinstance(p, DecimalParameter):
            dims.append(
                Dimension(
                    name,
                    "decimal",
                    float(p.low),
                    float(p.high),
                    p.decimals,
                    value=p.value,
                    optimize=optimize,
                )
            )
        elif isinstance(p, IntParameter):
            dims.append(Dimension(name, "int", p.low, p.high, value=p.value, optimize=optimize))
        elif isinstance(p, CategoricalParameter):
            dims.append(
                Dimension(
                    name,
                    "categorical",
                    choices=tuple(p.opt_range),
                    value=p.value,
                    optimize=optimize,
                )
            )
        else:
            raise SpaceError(f"{name!r}: parameter type {type(p).__name__} is not supported")
    return Space(type(strategy).__name__, tuple(dims))


def sample(space: Space, trials: int, seed: int) -> list[Params]:
    """`trials` points of a seeded Latin hypercube, first occurrences of each kept."""
    from scipy.stats import qmc

    free = [d for d in space.dimensions if d.optimize]
    if free:
        cube = qmc.LatinHypercube(len(free), rng=np.random.default_rng(seed)).random(trials)
    else:
        cube = np.zeros((min(trials, 1), 0))
    out: list[Params] = []
    seen = set()
    for row in cube:
        point = space.current()
        for d, u in zip(free, row, strict=True):
            point[d.name] = d.at(float(u))
        key = tuple(point[n] for n in space.names)
        if key not in seen:
            seen.add(key)
            out.append(point)
    return out


def check_point(space: Space, values: Mapping[str, Any], where: str) -> Params:
    """`values` completed with the strategy's own for the names it leaves out."""
    point = space.current()
    for name, value in values.items():
        d = space.dimension(name)
        if not d.holds(value):
            raise SpaceError(f"{where}: {name}={value!r} is outside the space ({d.describe()})")
        point[name] = value
    return point


def load_grid(space: Space, path: Path) -> list[Params]:
    """A grid file: a JSON list of {parameter: value} objects (or {"params": [...]})."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SpaceError(f"{str(path)!r} is not a JSON file: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("params"), list):
        data = data["params"]
    if not isinstance(data, list) or not data or not all(isinstance(p, dict) for p in data):
        raise SpaceError(f"{str(path)!r}: expected a non-empty JSON list of parameter objects")
    points, seen = [], set()
    for i, values in enumerate(data):
        point = check_point(space, values, f"{path} item {i}")
        key = tuple(point[n] for n in space.names)
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


def params_file(strategy: str, point: Mapping[str, Any]) -> dict:
    """Freqtrade's strategy parameter file (`<Strategy>.json` next to the strategy)."""
    from datetime import UTC, datetime

    return {
        "strategy_name": strategy,
        "params": {SPACE: {k: _plain(v) for k, v in point.items()}},
        "ft_stratparam_v": 1,
        "export_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00"),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isfinite(value):
        return value
    return value


def point_key(point: Mapping[str, Any], names: Sequence[str]) -> tuple:
    return tuple(point[n] for n in names)
