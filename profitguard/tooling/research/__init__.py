"""Exit research: record a strategy's entries once, then evaluate many ladders on them.

`profitguard sweep` runs one Freqtrade backtest to record the entries, replays
every ladder of the strategy's `profitguard` hyperopt space over the candles that
follow each entry (the engine's own `step`, in Freqtrade's backtest order), ranks
them in R, and checks its choice out of sample (walk-forward, PBO). Nothing here
imports Freqtrade except `recording` and `verify`, which run it.
"""
