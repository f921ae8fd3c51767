"""The settings under which every exit policy gets the same entries, sized by risk.

`compare` (and `sweep`, which records the entries once) backtest a strategy under
these settings, whatever the user's config says about stakes and open trades:

- position stacking (`BACKTEST_FLAGS`) and unlimited open trades, so an entry signal
  becomes a trade whatever the exits did before it;
- the risk gate's entry rules off (losing streaks, loss limits, heat and open
  positions depend on the exits);
- every entry sized by risk on the strategy's OWN initial stop (fixed fractional
  on a constant equity): `risk_per_trade` x the config's starting wallet is lost at
  that stop, the same money for every trade of every policy. So one R is one money
  unit everywhere, and money is proportional to R (up to the amount step). A
  policy with another stop (a fixed 2%) is sized on the strategy's stop all the
  same: the entries, and the R unit, stay the policy-independent ones;
- the config's own `stake_amount` is replaced (any value Freqtrade accepts,
  "unlimited" included, works) and the wallet is large enough for every stacked
  trade to be funded.
"""

from __future__ import annotations

import math
from typing import Any

from profitguard.risk.checks import Rule
from profitguard.risk.registry import RULES

BACKTEST_FLAGS = ("--enable-position-stacking",)
RISK_PER_TRADE = 0.01  # of the config's starting wallet, lost at the strategy's initial stop
WALLET_PER_RISK = 1_000_000  # the backtest's wallet, in R units: never short of funds
DEFAULT_WALLET = 1000.0  # Freqtrade's dry_run_wallet default


def neutral_risk(wallet: float) -> dict[str, Any]:
    """The gate's entry rules off; its sizing a fixed stake of the whole `wallet`, so
    the risk-sized stake of the policy strategy (the smaller) is the one used. The
    liquidation check stays: it depends on the entry's stop, not on the exits."""
    return {
        **{rule.settings[0].key: None for rule in RULES if rule.code is not Rule.LIQUIDATION},
        "sizing": {"method": "fixed", "fixed_stake": wallet},
    }


def starting_wallet(config: dict) -> float:
    """The config's starting wallet in its stake currency (`dry_run_wallet`, which may be
    a number or a map of currencies)."""
    wallet = config.get("dry_run_wallet", DEFAULT_WALLET)
    if isinstance(wallet, dict):
        currency = config.get("stake_currency", "")
        if currency not in wallet:
            raise ValueError(
                f"'dry_run_wallet' has no {currency!r} (the stake currency): {wallet!r}"
            )
        wallet = wallet[currency]
    if isinstance(wallet, bool) or not isinstance(wallet, int | float) or not wallet > 0:
        raise ValueError(f"'dry_run_wallet' must be a number > 0, was {wallet!r}")
    return float(wallet)


def risk_unit(config: dict) -> float:
    """The money one R is, for every trade: `RISK_PER_TRADE` of the starting wallet."""
    return RISK_PER_TRADE * starting_wallet(config)


def entry_settings(unit: float) -> dict[str, Any]:
    """The config layered over the user's (Freqtrade merges it last)."""
    wallet = WALLET_PER_RISK * unit
    return {
        "max_open_trades": -1,
        "stake_amount": unit,  # only Freqtrade's proposal: the stake is sized by risk
        "tradable_balance_ratio": 1.0,
        "dry_run_wallet": wallet,
        "available_capital": wallet,
        "profitguard": {"risk": neutral_risk(wallet)},
    }


def risk_stake(unit: float, *, rate: float, initial_stop: float, leverage: float = 1.0) -> float:
    """The stake that loses `unit` at `initial_stop` for an entry at `rate`."""
    distance = abs(rate - initial_stop)
    if not (rate > 0 and distance > 0 and math.isfinite(distance)):
        raise ValueError(f"no risk to size on: entry {rate!r}, initial stop {initial_stop!r}")
    return unit / distance * rate / leverage
