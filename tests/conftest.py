"""Shared test configuration.

Hypothesis runs 1000 examples per property in CI (`CI` set, as `.ci/run` runs) and a
small profile locally, so the quick local run stays quick; `--hypothesis-profile=ci`
runs the full one anywhere.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The offline exchange fixtures (offline_exchange, freqtrade_workspace): see
# tests/exchange_fixtures.py for how to backtest or dry-run a strategy with them.
from tests.exchange_fixtures import freqtrade_workspace, offline_exchange  # noqa: E402, F401

# A real PostgreSQL server started by the tests (postgresql.new_database() -> URL):
# see tests/postgres_fixtures.py.
from tests.postgres_fixtures import postgresql  # noqa: E402, F401
