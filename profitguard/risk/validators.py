"""The checks a risk setting's value passes: `(name, value)` in, a `ConfigError` naming
the field and the value out (nothing on success)."""

from __future__ import annotations

import functools
from typing import Any

from profitguard.engine import ConfigError
from profitguard.engine.protection_config import _above_zero, _number

above_zero = _above_zero


def ratio(name: str, value: Any, *, upper_open: bool = False) -> None:
    number = _number(name, value)
    if number <= 0 or number > 1 or (upper_open and number >= 1):
        interval = "(0, 1)" if upper_open else "(0, 1]"
        raise ConfigError(
            f"'{name}' must be in {interval} (a ratio: 0.05 = 5%), was {value!r}", field=name
        )


def count(name: str, value: Any, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"'{name}' must be a whole number, was {value!r}", field=name)
    if value < minimum:
        raise ConfigError(f"'{name}' must be >= {minimum}, was {value!r}", field=name)


ratio_below_one = functools.partial(ratio, upper_open=True)
count_of_two = functools.partial(count, minimum=2)


def not_negative(name: str, value: Any) -> None:
    if _number(name, value) < 0:
        raise ConfigError(f"'{name}' must be >= 0, was {value!r}", field=name)


def at_most(name: str, value: int, bound: int, bound_name: str) -> None:
    if value > bound:
        raise ConfigError(f"'{name}' must be <= {bound_name} ({bound}), was {value!r}", field=name)


def column(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"'{name}' must be a column name, was {value!r}", field=name)
