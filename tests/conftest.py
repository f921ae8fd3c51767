"""Shared test configuration.

Hypothesis runs at least 1000 examples per property by default (the CI profile);
`--hypothesis-profile=dev` runs 100 for quick local iterations.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci")

# The offline exchange fixtures (offline_exchange, freqtrade_workspace): see
# tests/exchange_fixtures.py for how to backtest or dry-run a strategy with them.
from tests.exchange_fixtures import freqtrade_workspace, offline_exchange  # noqa: E402, F401
