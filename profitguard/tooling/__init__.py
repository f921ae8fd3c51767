"""The offline tooling around the plugin: never imported by what a trader runs.

`exchange/` is the offline Binance spot and USD-M futures exchange (ledger, matching,
fault injection) and the harness that runs Freqtrade against it; `chaos/` is the live
reliability suite; `research/` is the exit sweep. The plugin (`engine`, `risk`,
`freqtrade`, `report`, `account`, `dashboard` and the modules beside them) imports
nothing from here; only the commands (`profitguard.commands`) use both.
"""
