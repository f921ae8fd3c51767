"""The pre-trade risk gate and position sizing, pure: no Freqtrade, file, lock or database.

`rules` (over the values of `book`) return `Check`s, declared once in `registry`;
`pipeline.evaluate` runs them in order up to the first refusal; `sizing.size` sizes a
stake; `state` is the admin's pause and kill switch as a value. The state is kept by
`profitguard.guard_store`; the Freqtrade glue is `profitguard.freqtrade.gate`.
"""
