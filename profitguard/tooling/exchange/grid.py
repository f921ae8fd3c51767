"""Prices and quantities on a market's grid (its tick and lot step), for float inputs."""

from __future__ import annotations

import math

from profitguard.tooling.exchange.ledger import q

GRID_TOLERANCE = 1e-6  # of a step: what counts as "on the grid" for a float


def on_grid(value: float, step: float) -> bool:
    steps = value / step
    return abs(steps - round(steps)) <= GRID_TOLERANCE


def floor_to_step(value: float, step: float) -> float:
    return q(math.floor(value / step + GRID_TOLERANCE) * step)
