"""R analytics and reports over Freqtrade backtest results."""
