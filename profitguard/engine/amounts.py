"""Exchange amount limits: rounding exit amounts down to the step, the minimum amount."""

from __future__ import annotations

import math
from decimal import Decimal

# Guards floor() against 0.3 / 0.1 == 2.9999999999999996.
_FLOOR_EPSILON = 1e-9


def step_decimals(step: float) -> int:
    """Decimal places of an amount step: 0.001 -> 3, 0.5 -> 1, 10 -> 0."""
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def round_down(amount: float, step: float | None, decimals: int) -> float:
    """`amount` rounded down to a whole number of `step`s (unchanged without a step)."""
    if step is None:
        return amount
    return round(math.floor(amount / step + _FLOOR_EPSILON) * step, decimals)
