"""profitguard: position management for Freqtrade."""

__version__ = "0.1.0"
