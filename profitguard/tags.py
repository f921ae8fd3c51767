"""Order tags and exit reasons profitguard writes, shared by the adapter and the report
(a leaf module: it imports nothing)."""

# The exit reason and order tag of a kill-switch exit (Freqtrade's emergency exit).
KILL_TAG = "kill_switch"
