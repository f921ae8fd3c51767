"""The like-for-like benchmark's replay floor makes exactly the sample's trades.

BenchRecorder (the sample, recording its hooks' answers) and BenchReplay (answering
from the recording) under the real `freqtrade backtesting`: the same trades and
orders, every recorded answer used. The same trades again when Freqtrade's copy of
the trade is skipped (so the sample's hooks change nothing on the trade that matters
to the backtest). And the comparison can fail: a replay of a doctored recording
makes other trades and is refused.
"""

from __future__ import annotations

import pickle

import pytest

from benchmarks import run as bench
from profitguard.tooling.exchange import generate
from profitguard.tooling.exchange.harness import start_exchange

pytestmark = [pytest.mark.slow, pytest.mark.cpu_bound]

PAIRS = ["B00/USDT", "B01/USDT"]


@pytest.fixture(scope="module")
def replay_workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench-replay")
    datadir = tmp / "data"
    generate.generate(datadir, pairs=PAIRS, timeframes=("5m",), days=20, seed=11)
    with start_exchange(datadir=datadir) as exchange:
        ws = bench.workspace(tmp / "ws", exchange, PAIRS, datadir)
        yield tmp, ws


def test_replay_when_answers_recorded_then_same_trades_and_every_answer_used(replay_workspace):
    tmp, ws = replay_workspace
    recording = bench.backtest(ws, "BenchRecorder", tmp)
    replay = bench.backtest(ws, "BenchReplay", tmp)
    report = bench._replay_report(ws)

    assert recording.trades > 5
    assert any(len(trade[-1]) > 2 for trade in recording.fingerprint)  # partial exits too
    assert replay.fingerprint == recording.fingerprint
    assert report["misses"] == 0
    assert report["answered"] == report["recorded"] > recording.trades


def test_sample_when_trade_copy_skipped_then_same_trades(replay_workspace):
    tmp, ws = replay_workspace
    recording = bench.backtest(ws, "BenchRecorder", tmp)
    uncopied = bench.backtest(ws, "ProfitGuardSample", tmp, env={bench.COPY_ENV: "skip"})

    assert uncopied.fingerprint == recording.fingerprint


def test_replay_when_recording_doctored_then_other_trades_and_refused(replay_workspace):
    tmp, ws = replay_workspace
    recording = bench.backtest(ws, "BenchRecorder", tmp)
    path = ws.userdir / "bench_answers.pickle"
    answers = pickle.loads(path.read_bytes())
    first_entry = min(k for k, v in answers.items() if k[0] == "confirm_trade_entry" and v[0])
    answers[first_entry] = [False]  # the sample's first entry refused
    path.write_bytes(pickle.dumps(answers))

    replay = bench.backtest(ws, "BenchReplay", tmp)

    assert replay.fingerprint != recording.fingerprint
    with pytest.raises(RuntimeError, match="did not replay the recording"):
        bench._replay_report(ws)
