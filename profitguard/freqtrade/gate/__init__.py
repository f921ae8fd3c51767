"""The risk gate inside Freqtrade: entries, stakes, the kill switch and the status file.

`ProfitGuardStrategy` builds one `RiskGate` and passes itself as its `GateHost` (the
gate never imports the strategy). Its parts, one job each:
- `account`: the account the rules read (`AccountBook`: equity, open positions with
  their stops in force, one snapshot until a trade opens, fills, moves its stop or
  goes; `ClosedHistory`: closed trades fetched incrementally, the losing streak and
  the period sums, recomputed only when a trade closes);
- `entry.Entry`: one entry's initial stop, its stake, and the figures its limits read;
- `correlations.Correlations`: pairwise correlations, once per candle;
- `refusals.RefusalLog`: refusals and trading-state changes counted, logged, sent;
- `status`: the bot's own guard and status files (the one `profitguard guard status`
  shows);
- `shared.SharedAccount`: a shared account's limits and switches.

Backtesting and hyperopt: the trade history is Freqtrade's simulated one as of
the candle (no lookahead); the guard state is a fresh ACTIVE one for each run,
never read from or written to disk; the refusal counts of the last run are
printed when `freqtrade backtesting` ends. Dry-run and live: the guard file and
the status file live in `user_data/`, the guard state's copy in the trades database.
"""

from profitguard.exit_tags import KILL_TAG
from profitguard.freqtrade.gate.correlations import shared_closes
from profitguard.freqtrade.gate.host import GateHost
from profitguard.freqtrade.gate.refusals import GATE_VS_FREQTRADE
from profitguard.freqtrade.gate.risk_gate import RiskGate

__all__ = ["GATE_VS_FREQTRADE", "KILL_TAG", "GateHost", "RiskGate", "shared_closes"]
