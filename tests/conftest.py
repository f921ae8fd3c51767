"""Shared test configuration.

Hypothesis runs 1000 examples per property in CI (`CI` set, as `.ci/run` runs) and a
small profile locally, so the quick local run stays quick; `--hypothesis-profile=ci`
runs the full one anywhere.

CI runs the tests on several pytest-xdist workers (`./run test` adds `-n` when CI is
set). Tests marked `cpu_bound` go to one of `CPU_LANES` xdist groups, so at most that
many keep a core busy at once while the wall-clock-bound dry-run tests run beside
them; see docs/development.md.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

if os.environ.get("PYTEST_XDIST_WORKER"):
    # An xdist worker runs with COLUMNS=80 and LINES=24 set; Freqtrade sizes its Rich
    # console by them and would wrap its log lines at 80 characters, where a serial
    # run's subprocesses get 200: they get what they get in a serial run.
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

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
from tests.postgres_fixtures import own_postgresql, postgresql  # noqa: E402, F401

CPU_LANES = 2  # the cores of the machine CI runs on
_SHARED_SCOPES = ("module", "package", "session")


def _lane_key(item: pytest.Item) -> str:
    """What a `cpu_bound` test's lane is chosen by: its module when it uses a fixture
    the module defines for all its tests (so that fixture runs once), else itself."""
    module = item.nodeid.split("::")[0]
    info = getattr(item, "_fixtureinfo", None)
    defs = [] if info is None else [d for ds in info.name2fixturedefs.values() for d in ds]
    shared = any(d.scope in _SHARED_SCOPES and d.baseid == module for d in defs)
    return module if shared else item.nodeid


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`cpu_bound` tests into `CPU_LANES` xdist groups, round robin in collection order
    (the same on every worker); an explicit `xdist_group` mark is left as it is."""
    lanes: dict[str, str] = {}
    for item in items:
        if item.get_closest_marker("cpu_bound") and not item.get_closest_marker("xdist_group"):
            key = _lane_key(item)
            lane = lanes.setdefault(key, f"cpu-lane-{len(lanes) % CPU_LANES}")
            item.add_marker(pytest.mark.xdist_group(lane))


@pytest.fixture(autouse=True)
def _log_levels_restored():
    """A command run in-process (report, compare) quiets Freqtrade's and the adapter's
    loggers for the rest of its process (`freqtrade_setup.quiet_freqtrade`): each test
    puts their levels back, so a later test's caplog sees what it logs."""
    import logging

    names = ("freqtrade", "numexpr", "profitguard", "profitguard.freqtrade")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(autouse=True)
def _bot_claims_released():
    """A bot started in a test holds its guard files (`bot_identity.claim`) until the
    process ends; each test gives its claims up, as a stopped bot would."""
    yield
    from profitguard.bot_identity import release_all

    release_all()
