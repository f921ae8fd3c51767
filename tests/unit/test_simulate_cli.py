"""`profitguard simulate`: the ladder calculator's interface and its errors."""

import json
import shutil
import subprocess
import sys

import pytest

from profitguard.cli import main

SPEC_LADDER = [
    "simulate",
    "--side",
    "long",
    "--entry",
    "150",
    "--stop",
    "147",
    "--amount",
    "100",
    "--prices",
    "150,153,156,159,162",
]


def simulate_json(capsys, *args):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_simulate_when_spec_ladder_then_stops_exits_and_states(capsys):
    out = simulate_json(capsys, *SPEC_LADDER)
    events = out["events"]
    assert [e["stop"] for e in events] == [147, 150, 153, 154.5, 156]
    assert [e["exit_amount"] for e in events] == [0, 0, 50, 25, 25]
    assert [e["exit_tags"] for e in events] == [[], [], ["tp1"], ["tp2"], ["tp3"]]
    assert [e["r"] for e in events] == [0, 1, 2, 3, 4]
    assert [e["state"] for e in events] == [
        "INITIAL_RISK",
        "BREAKEVEN_PROTECTED",
        "PARTIAL_PROFIT_TAKEN",
        "ADVANCED_PROFIT_TAKEN",
        "FINAL_PROFIT_TAKEN",
    ]
    assert [e["remaining"] for e in events] == [100, 100, 50, 25, 0]
    assert [e["realized_profit"] for e in events] == [0, 0, 300, 525, 825]
    assert out["final"] == {
        "state": "FINAL_PROFIT_TAKEN",
        "remaining": 0,
        "realized_profit": 825,
        "realized_r": 2.75,  # 825 over 1R of the whole amount, 3 x 100
    }
    assert set(events[0]) == {
        "price",
        "r",
        "peak_r",
        "state",
        "stop",
        "exit_amount",
        "exit_tags",
        "skipped_tags",
        "remaining",
        "realized_profit",
    }


def test_simulate_when_position_closes_early_then_closing_event_is_last(capsys):
    out = simulate_json(
        capsys, *SPEC_LADDER[:-1], "150,160,140,170,180", "--amount-step", "1", "--min-amount", "1"
    )
    assert [e["exit_tags"] for e in out["events"]] == [[], ["tp1", "tp2"], ["stop"]]
    assert out["final"]["state"] == "STOPPED_OUT"
    assert out["final"]["realized_profit"] == 750 - 250


def test_simulate_when_scaled_pct_preset_then_stop_moves_to_previous_level(capsys):
    out = simulate_json(
        capsys,
        *["simulate", "--side", "long", "--entry", "50000", "--stop", "49000"],
        *["--amount", "0.1", "--amount-step", "0.001", "--preset", "scaled_pct"],
        *["--prices", "51500,52500,54000"],
    )
    assert [e["exit_amount"] for e in out["events"]] == [0.04, 0.03, 0.03]
    assert [e["stop"] for e in out["events"]][:2] == [50000, 51500]
    assert [e["realized_profit"] for e in out["events"]] == [60, 135, 255]


def test_simulate_when_custom_ladders_and_trailing_then_all_applied(capsys):
    out = simulate_json(
        capsys,
        *SPEC_LADDER[:-1],
        "150,151.5,153.5,160",
        *["--tp", "0.02:1,0.04:1", "--tp-unit", "pct", "--stop-ladder", "0.5:-0.5"],
        *["--tp-stop", "previous_level", "--trail-pct", "0.02"],
    )
    events = out["events"]
    assert events[1]["stop"] == 148.5  # ladder: peak 0.5R locks -0.5R
    assert events[2]["exit_tags"] == ["tp1"] and events[2]["exit_amount"] == 50
    assert events[2]["stop"] == pytest.approx(153.5 * 0.98)  # trailing beats breakeven
    assert events[3]["exit_tags"] == ["tp2"] and events[3]["exit_amount"] == 50
    assert events[3]["stop"] == pytest.approx(160 * 0.98)  # beats TP1's price, 153


def test_simulate_when_atr_trailing_then_chandelier_stop_for_prices_and_candles(capsys, tmp_path):
    atr = ["--trail-atr-mult", "2", "--atr", "1.5"]
    out = simulate_json(capsys, *SPEC_LADDER[:-1], "150,160", *atr)
    assert out["events"][-1]["stop"] == 157  # 160 - 2 * 1.5, above the ladder's 154.5
    # the candle's high 160 raises the stop to 157; its low 155 then fills it
    candles = tmp_path / "candles.json"
    candles.write_text(json.dumps([[0, 150, 151, 149, 150, 1], [60_000, 152, 160, 155, 158, 1]]))
    args = [*SPEC_LADDER[:-2], "--candles", str(candles), *atr]
    last = simulate_json(capsys, *args)["events"][-1]
    assert (last["tick"], last["price"], last["exit_tags"]) == ("worst", 157, ["stop"])
    assert main(args) == 0
    assert "chandelier trailing: 2 ATR below the best price" in capsys.readouterr().out


def test_simulate_when_text_mode_then_table_with_one_row_per_price(capsys):
    assert main(SPEC_LADDER) == 0
    out = capsys.readouterr().out
    assert "tp1: 0.5 of the amount at 156 (2R)" in out
    rows = [line for line in out.splitlines() if line.strip()[:1].isdigit() and "  " in line]
    assert len(rows) == 5
    assert "FINAL_PROFIT_TAKEN" in rows[-1] and "tp3" in rows[-1]


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (["--prices", "150,abc"], "argument --prices: 'abc' is not a number"),
        (
            ["--prices", "150,-5"],
            "argument --prices: 'price' must be a finite number > 0, was -5.0",
        ),
        (["--stop", "151"], "argument --stop: 'initial_stop' must be below the entry"),
        (["--side", "sideways"], "argument --side: invalid choice"),
        (
            ["--tp", "2:0.5,1:0.5"],
            "argument --tp: 'take_profits' levels must be strictly ascending",
        ),
        (["--tp", "2-0.5"], "argument --tp: '2-0.5' is not A:B"),
        (["--tp-unit", "percent"], "argument --tp-unit: 'tp_unit' must be one of 'r', 'pct'"),
        (["--tp-unit", "pct"], "argument --tp-unit: 'tp_unit' is 'pct' but the take-profit"),
        (["--stop-ladder", "1:1"], "argument --stop-ladder: 'stop_ladder[0].lock_r' must be"),
        (["--tp-stop", "trailing"], "argument --tp-stop: 'tp_stop' must be one of"),
        (["--trail-pct", "1.5"], "argument --trail-pct: 'trail_pct' must be in (0, 1), was 1.5"),
        (["--preset", "yolo"], "argument --preset: 'preset' must be one of"),
        (["--amount", "0"], "argument --amount: 'amount' must be a finite number > 0, was 0.0"),
        (
            ["--min-amount", "-1"],
            "argument --min-amount: 'min_amount' must be a finite number >= 0",
        ),
        (["--amount-step", "nan"], "argument --amount-step: 'amount_step' must be a finite number"),
        (["--atr", "2"], "argument --atr: needs --trail-atr-mult"),
        (["--trail-atr-mult", "2"], "argument --trail-atr-mult: needs --atr"),
        (
            ["--trail-atr-mult", "2", "--atr", "nan"],
            "argument --atr: must be a finite number > 0, was nan",
        ),
    ],
)
def test_simulate_when_argument_invalid_then_status_2_and_one_line_naming_it(capsys, change, names):
    args = list(SPEC_LADDER)
    flag = change[0]
    if flag in args:
        args[args.index(flag) + 1] = change[1]
    else:
        args += change
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(main(args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert names in err


def test_console_script_when_installed_then_runs_simulate():
    exe = shutil.which("profitguard") or str(
        __import__("pathlib").Path(sys.executable).with_name("profitguard")
    )
    result = subprocess.run(
        [exe, *SPEC_LADDER, "--json"], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout)["final"]["realized_profit"] == 825


# ------------------------------------------------ --params: the ladder hyperopt chose

HYPEROPT_R = {
    "pg_tp1_r": 1.5,
    "pg_tp2_step_r": 1.5,
    "pg_tp3_step_r": 1.0,
    "pg_tp1_weight": 1,
    "pg_tp2_weight": 1,
    "pg_tp3_weight": 2,
    "pg_sl1_trigger_r": 1.0,
    "pg_sl2_step_r": 1.0,
    "pg_sl3_step_r": 1.0,
    "pg_sl4_step_r": 1.0,
    "pg_sl5_step_r": 1.0,
    "pg_sl_lock_gap_r": 1.0,
    "pg_sl_lock_ratio": 0.5,
    "pg_trail": False,
    "pg_trail_pct": 0.03,
}


def params_file(tmp_path, values, name="MyStrategy"):
    """A params file as freqtrade hyperopt writes it next to the strategy."""
    path = tmp_path / f"{name}.json"
    content = {
        "strategy_name": name,
        "params": {
            "roi": {"0": 100.0},
            "stoploss": {"stoploss": -0.1},
            "profitguard": values,
        },
        "ft_stratparam_v": 1,
    }
    path.write_text(json.dumps(content))
    return path


def test_simulate_when_params_file_then_the_hyperopt_ladder(capsys, tmp_path):
    path = params_file(tmp_path, HYPEROPT_R)
    out = simulate_json(capsys, *SPEC_LADDER[:-1], "150,154.5,159,162", "--params", str(path))
    events = out["events"]
    # 1R = 3: levels 1.5R (154.5, 25%), 3R (159, 25%), 4R (162, 50%)
    assert [e["exit_tags"] for e in events] == [[], ["tp1"], ["tp2"], ["tp3"]]
    assert [e["exit_amount"] for e in events] == [0, 25, 25, 50]
    assert events[1]["stop"] == pytest.approx(150.0)  # peak 1.5R: step 1 (1R) locks 0R
    assert main([*SPEC_LADDER, "--params", str(path)]) == 0
    text = capsys.readouterr().out
    assert f"hyperopt parameters of MyStrategy from {path}" in text
    assert "tp1: 0.25 of the amount at 154.5 (1.5R)" in text
    assert "stop ladder: peak 2R -> stop 1R (153)" in text


def test_simulate_when_pct_params_then_scaled_pct_shape_and_trailing_shown(capsys, tmp_path):
    values = {
        **{"pg_tp1_pct": 0.02, "pg_tp2_step_pct": 0.02, "pg_tp3_step_pct": 0.02},
        **{"pg_tp1_weight": 1, "pg_tp2_weight": 1, "pg_tp3_weight": 2},
        **{"pg_trail": True, "pg_trail_pct": 0.05},
    }
    path = params_file(tmp_path, values)
    assert main([*SPEC_LADDER, "--params", str(path)]) == 0
    text = capsys.readouterr().out
    assert "tp1: 0.25 of the amount at 153 (1R)" in text  # +2% of 150
    assert "stop ladder" not in text  # scaled_pct has none
    assert "trailing: 0.05 below the best price" in text


@pytest.mark.parametrize(
    ("content", "extra", "names"),
    [
        (None, [], "argument --params: no such file"),
        ("{not json", [], "argument --params: "),
        ({"strategy_name": "X", "params": {"buy": {}}}, [], "has no 'params.profitguard' values"),
        (
            {"params": {"profitguard": {**HYPEROPT_R, "pg_tp1_r": -1}}},
            [],
            "argument --params: 'profitguard.pg_tp1_r' must be > 0, was -1",
        ),
        (
            {"params": {"profitguard": HYPEROPT_R}},
            ["--tp", "2:1"],
            "argument --tp: not allowed with --params, whose take_profits it replaces",
        ),
        (
            {"params": {"profitguard": HYPEROPT_R}},
            ["--stop-ladder", "none"],
            "argument --stop-ladder: not allowed with --params",
        ),
        (
            {"params": {"profitguard": HYPEROPT_R}},
            ["--preset", "scaled_pct"],
            "argument --tp-unit: the take-profit parameters are in 'r'",
        ),
    ],
)
def test_simulate_when_params_invalid_then_status_2_and_one_line(
    capsys, tmp_path, content, extra, names
):
    path = tmp_path / "Strategy.json"
    if isinstance(content, dict):
        path.write_text(json.dumps(content))
    elif content is not None:
        path.write_text(content)
    assert main([*SPEC_LADDER, "--params", str(path), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert names in err


# ------------------------------------------- what a new user reads off the output

SKIPPING = [
    "simulate", "--side", "long", "--entry", "100", "--stop", "98", "--amount", "1",
    "--min-amount", "0.3", "--tp", "2:0.5,3:0.2,4:0.3", "--prices", "100,104,106,108",
]  # fmt: skip


def test_simulate_when_level_below_the_minimum_then_shown_as_skipped(capsys):
    assert main(SKIPPING) == 0
    rows = capsys.readouterr().out.splitlines()
    row_106 = next(r for r in rows if r.split()[:2] == ["3", "106"])
    assert "tp2 skipped" in row_106
    assert "-  tp2 skipped" in row_106  # nothing sold at 106
    events = simulate_json(capsys, *SKIPPING)["events"]
    assert [e["skipped_tags"] for e in events] == [[], [], ["tp2"], []]
    assert events[3]["exit_tags"] == ["tp2", "tp3"]  # tp2's fraction went with tp3


def test_simulate_when_done_then_ends_with_the_total_in_r(capsys):
    assert main(SPEC_LADDER) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "total: +2.75R realized (profit 825, 1R of the whole amount = 300); closed"


def test_simulate_when_entry_outside_every_candle_then_warned(tmp_path, capsys):
    candles = tmp_path / "candles.json"
    candles.write_text(json.dumps([[0, 100, 101, 99, 100, 1], [60_000, 100, 102, 99, 101, 1]]))
    args = ["simulate", "--side", "long", "--stop", "49000", "--amount", "1",
            "--candles", str(candles)]  # fmt: skip
    assert main([*args, "--entry", "50000"]) == 0
    err = capsys.readouterr().err
    assert "--entry 50000 is outside every replayed candle (lows and highs 99 .. 102" in err
    assert main([*args, "--entry", "100", "--stop", "98"]) == 0
    assert "outside" not in capsys.readouterr().err


@pytest.mark.parametrize("command", [SPEC_LADDER, ["guard", "status", "--userdir", "."]])
def test_json_output_when_printed_then_ends_with_a_newline(tmp_path, command):
    entry = "import sys; from profitguard.cli import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", entry, *command, "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.endswith("}\n")


def test_simulate_candles_when_stop_raised_and_hit_on_the_entry_candle_then_pessimistic_fill(
    capsys, tmp_path
):
    # the entry candle's high 154.5 (1.5R) raises the stop to 151.5 and its low 148 hits
    # it: Freqtrade fills at max(low, open x stop / high) = max(148, 147.09) = 148
    candles = tmp_path / "candles.json"
    candles.write_text(json.dumps([[0, 150, 154.5, 148, 149, 1]]))
    args = [*SPEC_LADDER[:-2], "--candles", str(candles)]
    out = simulate_json(capsys, *args)
    last = out["events"][-1]
    assert (last["tick"], last["price"], last["exit_tags"]) == ("worst", 151.5, ["stop"])
    assert last["fill_price"] == 148
    assert out["final"]["realized_profit"] == -200  # 100 x (148 - 150)
    assert out["final"]["realized_r"] == pytest.approx(-2 / 3, abs=1e-9)
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("total: -0.67R realized")


def test_simulate_candles_when_low_between_the_stop_and_its_tick_then_stopped_at_the_tick(
    capsys, tmp_path
):
    # stop 147.0004, held by Freqtrade at 147.01 (tick 0.01): a low of 147.005 stops it
    candles = tmp_path / "candles.json"
    candles.write_text(
        json.dumps([[0, 150, 150.1, 149.9, 150, 1], [60_000, 149, 149.1, 147.005, 148, 1]])
    )
    args = ["simulate", "--side", "long", "--entry", "150", "--stop", "147.0004",
            "--amount", "100", "--candles", str(candles)]  # fmt: skip
    assert simulate_json(capsys, *args)["final"]["state"] != "STOPPED_OUT"  # no tick: open
    out = simulate_json(capsys, *args, "--tick", "0.01")
    assert out["final"]["state"] == "STOPPED_OUT"
    assert out["events"][-1]["fill_price"] == pytest.approx(147.01)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tick", "0.01"], "argument --tick: needs --candles"),
    ],
)
def test_simulate_when_tick_without_candles_then_usage_error(capsys, args, message):
    assert main([*SPEC_LADDER, *args]) == 2
    assert message in capsys.readouterr().err


def test_simulate_candles_when_no_tick_given_then_the_backtests_from_the_file(capsys, tmp_path):
    # prices with two decimals: Freqtrade's backtest rounds to 0.01, so the stop 147.0004
    # is held, and filled, at 147.01
    candles = tmp_path / "candles.json"
    candles.write_text(
        json.dumps([[0, 150, 150.12, 149.91, 150, 1], [60_000, 149, 149.13, 147.0, 148, 1]])
    )
    args = ["simulate", "--side", "long", "--entry", "150", "--stop", "147.0004",
            "--amount", "100", "--candles", str(candles)]  # fmt: skip
    out = simulate_json(capsys, *args)
    assert out["events"][-1]["fill_price"] == pytest.approx(147.01)
    assert simulate_json(capsys, *args, "--tick", "0.0001")["events"][-1][
        "fill_price"
    ] == pytest.approx(147.0004)
