"""Live-mode reliability: Freqtrade against the offline exchange, under faults and kills.

``records`` reads what happened (the exchange's ledger, the bot's database),
``checks`` states what must always hold, ``scenarios`` and ``runner`` drive runs.
"""
