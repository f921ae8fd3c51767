"""`sweep --html`: the sweep on one self-contained page (plotly, embedded)."""

from __future__ import annotations


def sweep_page(*args, **kwargs) -> str:  # replaced below once the charts exist
    raise NotImplementedError
