"""profitguard's performance measurements (see run.py; results in RESULTS.md)."""
