"""Live-mode reliability: Freqtrade against the offline exchange, under faults and kills.

``run_readers`` reads what happened (the exchange's ledger, the bot's database),
``run_checks`` states what must always hold, ``scenarios`` and ``scenario_runner`` drive runs.
"""
