"""`profitguard dashboard`'s REST API and /metrics over real HTTP: auth, CSRF, bad JSON,
the switches written through the same code as `profitguard guard`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from profitguard import guard_store
from profitguard.bot_identity import identity_of
from profitguard.dashboard.metrics import METRIC_NAMES
from profitguard.risk import state as st
from tests.dashboard_server import start_dashboard

USER, PASSWORD = "admin", "a-long-dashboard-password"
TOKEN = "metrics-token-xyz"


def write_bot(tmp_path: Path, section: dict | None = None, **config) -> Path:
    """A bot's user dir as a running bot leaves it: config, status file (no database)."""
    userdir = tmp_path / "user_data"
    userdir.mkdir()
    body = {
        "dry_run": True,
        "stake_currency": "USDT",
        "dry_run_wallet": 1000,
        "user_data_dir": str(userdir),
        "db_url": f"sqlite:///{userdir / 'tradesv3.dryrun.sqlite'}",
        "exchange": {"name": "binance"},
        # a bot looping every 60 s: its status file (written once here) stays fresh for
        # five loops however slowly a loaded machine starts the dashboard
        "internals": {"process_throttle_secs": 60},
        **config,
    }
    if section is not None:
        body["profitguard"] = {"dashboard": section}
    (tmp_path / "config.json").write_text(json.dumps(body))
    now = datetime.now(UTC).isoformat()
    status = {
        "version": 1,
        "updated_at": now,
        "loop_at": now,
        "state": "ACTIVE",
        "equity": 1000.0,
        "checks": [
            {
                "rule": "DAILY_LOSS_LIMIT",
                "passed": True,
                "message": "DAILY_LOSS_LIMIT: loss=1.0%",
                "figures": {"loss": 0.01, "limit": 0.05},
            },
            {
                "rule": "PORTFOLIO_HEAT",
                "passed": True,
                "message": "PORTFOLIO_HEAT: heat=2.0%",
                "figures": {"heat": 0.02, "limit": 0.3},
            },
        ],
        "refusals": {"MAX_OPEN_POSITIONS": 4},
        "callback_errors": 1,
        "untracked": {"ZZZ/USDT": 7.94},
        "trades": [
            {
                "trade_id": 1,
                "pair": "BTC/USDT",
                "side": "long",
                "entry": 100.0,
                "amount": 2.0,
                "opened_at": now,
                "price": 103.0,
                "r": 1.5,
                "peak_r": 1.6,
                "stop": 101.0,
                "stop_r": 0.5,
                "levels_done": [],
                "levels": 3,
                "next_level": None,
                "stop_resting": True,
            },
        ],
        "events": [],
        "watchdog": [],
    }
    status_file = identity_of(body).status_path(userdir)  # the bot's own (`bot_identity`)
    status_file.write_text(json.dumps(status, sort_keys=True))  # as the bot
    return tmp_path / "config.json"


@pytest.fixture
def dashboard(tmp_path):
    started = []

    def start(config: Path, *args: str):
        d = start_dashboard(config, tmp_path / f"dashboard-{len(started)}.log", *args)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One dashboard for the tests that only read, or put the switches back (a process
    takes seconds to start)."""
    root = tmp_path_factory.mktemp("served")
    config = write_bot(root, {"username": USER, "password": PASSWORD, "metrics_token": TOKEN})
    d = start_dashboard(config, root / "dashboard.log")
    yield d, config
    d.stop()


@pytest.fixture
def fresh(served):
    """The shared dashboard with every switch off."""
    d, config = served
    bot_guard_file(config).unlink(missing_ok=True)
    return d, config


def bot_guard_file(config: Path) -> Path:
    """The guard file of the bot `config` describes (keyed by its bot_name or database)."""
    return identity_of(json.loads(config.read_text())).guard_path(config.parent / "user_data")


def guard_file(config: Path) -> st.GuardState:
    return guard_store.read_state(bot_guard_file(config))


def test_dashboard_when_credentials_wrong_or_missing_then_401(fresh):
    d, config = fresh
    for path in ("/", "/api/status", "/static/dashboard.js", "/static/plotly.min.js"):
        status, headers, _ = d.request("GET", path)
        assert status == 401, path
        assert headers["www-authenticate"].startswith("Basic")
        assert d.request("GET", path, auth=(USER, "wrong"))[0] == 401
        assert d.request("GET", path, auth=("someone", PASSWORD))[0] == 401
    assert d.post("/api/guard/kill", {"reason": "x"}, auth=(USER, "wrong"))[0] == 401
    assert not guard_file(config).halted
    status, _, body = d.request("GET", "/api/status", auth=(USER, PASSWORD))
    assert status == 200
    figures = json.loads(body)
    assert figures["state"] == "ACTIVE"
    assert figures["trades"][0]["pair"] == "BTC/USDT"
    assert figures["periods"][0] == {"period": "daily", "loss": 0.01, "limit": 0.05, "passed": True}
    assert figures["bot"]["stale"] is False


def test_dashboard_when_switches_posted_then_guard_file_follows_like_the_guard_command(fresh):
    d, config = fresh
    auth = (USER, PASSWORD)
    status, answer = d.post("/api/guard/pause", {"reason": "news at 14:00"}, auth)
    assert status == 200 and answer["guard"]["paused"] is True
    assert guard_file(config).paused_reason == "news at 14:00"
    assert d.post("/api/guard/resume", {}, auth)[0] == 200
    assert not guard_file(config).paused
    status, answer = d.post("/api/guard/kill", {"reason": "exchange outage"}, auth)
    assert status == 200
    assert guard_file(config).halted and guard_file(config).halted_reason == "exchange outage"
    figures = json.loads(d.request("GET", "/api/status", auth=auth)[2])
    assert figures["state"] == "HALTED" and "exchange outage" in figures["reason"]
    status, answer = d.post("/api/guard/resume", {}, auth)
    assert status == 409 and "kill switch is on" in answer["error"]
    status, answer = d.post("/api/guard/reset", {}, auth)
    assert status == 400 and '"confirm": true' in answer["error"]
    status, answer = d.post("/api/guard/reset", {"confirm": "yes"}, auth)
    assert status == 400
    assert guard_file(config).halted
    assert d.post("/api/guard/reset", {"confirm": True}, auth)[0] == 200
    assert not guard_file(config).halted
    # the guard command reads what the dashboard wrote
    shown = subprocess.run(
        [sys.executable, "-m", "profitguard.cli", "guard", "status", "--config", str(config),
         "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(shown.stdout)["guard"]["reset_at"] is not None


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "application/json", "bad JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b'{"reason": 5}', "application/json", "'reason' must be a text"),
        (b'{"resaon": "x"}', "application/json", "unknown field(s) ['resaon']"),
        (b"reason=x", "application/x-www-form-urlencoded", "application/json"),
    ],
)
def test_dashboard_when_body_is_bad_then_400_with_message_and_nothing_switched(
    fresh, body, content_type, message
):
    d, config = fresh
    status, _, raw = d.request(
        "POST", "/api/guard/kill", auth=(USER, PASSWORD), body=body,
        headers={"Content-Type": content_type},
    )  # fmt: skip
    assert status == 400
    assert message in json.loads(raw)["error"]
    assert not guard_file(config).halted


@pytest.mark.parametrize(
    "origin",
    [{"Origin": "http://evil.example"}, {"Origin": "null"},
     {"Referer": "http://127.0.0.1:1/page"}],
)  # fmt: skip
def test_dashboard_when_post_comes_from_another_origin_then_403(fresh, origin):
    d, config = fresh
    status, answer = d.post("/api/guard/kill", {"reason": "csrf"}, (USER, PASSWORD), **origin)
    assert status == 403 and "cross-origin" in answer["error"]
    assert not guard_file(config).halted
    same = {"Origin": d.url}
    assert d.post("/api/guard/pause", {"reason": "mine"}, (USER, PASSWORD), **same)[0] == 200


def test_metrics_when_scraped_then_issue_names_and_token_required_when_set(tmp_path, dashboard):
    config = write_bot(tmp_path, {"username": USER, "password": PASSWORD, "metrics_token": TOKEN})
    d = dashboard(config)
    assert d.request("GET", "/metrics")[0] == 401
    assert d.request("GET", "/metrics", headers={"Authorization": "Bearer nope"})[0] == 401
    assert d.request("GET", "/metrics", auth=(USER, PASSWORD))[0] == 401  # the token, not basic
    status, headers, body = d.request(
        "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = body.decode()
    for name in METRIC_NAMES:
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert "profitguard_trading_state 0.0" in text
    assert 'profitguard_period_loss_ratio{period="daily"} 0.01' in text
    assert 'profitguard_open_trade_r{pair="BTC/USDT"} 1.5' in text
    assert 'profitguard_stop_distance_r{pair="BTC/USDT"} 1.0' in text
    assert 'profitguard_refusals_total{rule="MAX_OPEN_POSITIONS"} 4.0' in text
    assert "profitguard_callback_errors_total 1.0" in text
    assert "profitguard_heat_ratio 0.02" in text
    assert 'profitguard_untracked_amount{pair="ZZZ/USDT"} 7.94' in text
    age_line = next(x for x in text.splitlines() if x.startswith("profitguard_bot_loop_age_s"))
    age = float(age_line.split()[1])
    assert 0 <= age < 60
    d.post("/api/guard/kill", {"reason": "x"}, (USER, PASSWORD))
    text = d.request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})[2].decode()
    assert "profitguard_trading_state 2.0" in text


def test_dashboard_when_password_used_then_never_in_its_output_or_pages(tmp_path, dashboard):
    config = write_bot(tmp_path, {"username": USER, "password": PASSWORD, "metrics_token": TOKEN})
    d = dashboard(config)
    auth = (USER, PASSWORD)
    seen = b""
    for path in ("/", "/api/status", "/static/dashboard.js"):
        seen += d.request("GET", path, auth=auth)[2]
    seen += d.request("GET", "/api/status", auth=(USER, "wrong-" + PASSWORD))[2]
    d.post("/api/guard/kill", {"reason": "x"}, auth)
    d.post("/api/guard/pause", b"{bad", auth)
    d.stop()
    for secret in (PASSWORD, TOKEN):
        assert secret.encode() not in seen
        assert secret not in d.output()
    assert "kill done" in d.output()  # the log is there, and says what was done


def run_dashboard(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "profitguard.cli", "dashboard", "--config", str(config), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("section", "api_server", "args", "message"),
    [
        ({"username": USER, "password": "short-pass"}, None, ("--host", "0.0.0.0"),
         "needs a password of at least 12 characters in 'profitguard.dashboard' (it has 10)"),
        (None, {"username": "ft", "password": "freqtrader"}, ("--host", "192.0.2.1"),
         "at least 12 characters in 'api_server'"),
        (None, None, (), "no credentials for the dashboard"),
        ({"username": USER, "pasword": PASSWORD}, None, (),
         "unknown setting 'profitguard.dashboard.pasword'. Did you mean 'password'?"),
        ({"username": USER, "password": ""}, None, (),
         "'profitguard.dashboard.password' must be a non-empty text"),
        ({"username": USER, "password": PASSWORD}, None, ("--port", "99999"),
         "--port must be in 0..65535, was 99999"),
    ],
)  # fmt: skip
def test_dashboard_when_setup_is_unsafe_or_wrong_then_refuses_to_start_with_one_line(
    tmp_path, section, api_server, args, message
):
    extra = {"api_server": api_server} if api_server else {}
    done = run_dashboard(write_bot(tmp_path, section, **extra), *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "short-pass" not in done.stderr and "freqtrader" not in done.stderr


def test_dashboard_when_no_own_section_then_freqtrade_api_server_credentials(tmp_path, dashboard):
    config = write_bot(tmp_path, None, api_server={"username": "ft", "password": "ft-password"})
    d = dashboard(config)
    assert d.request("GET", "/api/status", auth=("ft", "ft-password"))[0] == 200
    assert d.request("GET", "/api/status", auth=(USER, PASSWORD))[0] == 401
    assert d.request("GET", "/metrics")[0] == 200  # no metrics_token: open
