"""The risk gate inside Freqtrade (`RiskGate`): entries, stakes, the kill switch and the
status file. Backtesting and hyperopt read Freqtrade's simulated trades as of the candle
and a fresh ACTIVE guard per run (never on disk); dry-run and live the guard file and the
status file in user_data/, and the guard state's copy in the trades database.
"""

from profitguard.freqtrade.gate.risk_gate import RiskGate

__all__ = ["RiskGate"]
