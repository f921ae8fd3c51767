"""A replay that can be held: it waits for the bot instead of the bot waiting for it.

A live replay moves one source candle per ``seconds_per_candle`` of wall-clock time.
A test that restarts the bot, or waits for it to start, used to script a plateau long
enough for the slowest start-up, and waited it out. ``ReplayPace`` instead maps wall
time to *replay time*, which stands still while the replay is held: the test holds it
(``hold``) before it stops the bot, and it runs again at the next price request
(``release_on_price``): the restarted bot's first look at the market. Candles stay
stamped with wall-clock time, so Freqtrade's own freshness checks are unchanged;
held stretches are flat candles at the held price.

The mapping is continuous and never decreasing, so every past answer stays true: a
hold or release only changes what happens from ``now`` on.
"""

from __future__ import annotations

import threading

import numpy as np

# requests a bot makes to price an entry or exit (spot and USD-M futures)
PRICE_PATHS = (
    "/api/v3/depth",
    "/api/v3/ticker/bookTicker",
    "/api/v3/ticker/price",
    "/api/v3/ticker/24hr",
    "/fapi/v1/depth",
    "/fapi/v1/ticker/bookTicker",
    "/fapi/v1/ticker/price",
    "/fapi/v2/ticker/price",
    "/fapi/v1/ticker/24hr",
)


class ReplayPace:
    """Wall-clock ms -> replay ms: the identity until ``t0_ms``, then piecewise linear
    with slope 1 (running) or 0 (held). ``held``: start held until the first price
    request."""

    def __init__(self, t0_ms: int, *, held: bool = False) -> None:
        self._lock = threading.Lock()
        self._wall = [float(t0_ms)]
        self._replay = [float(t0_ms)]
        self._rate = 0.0 if held else 1.0
        self._release_on_price = held

    @property
    def held(self) -> bool:
        return self._rate == 0.0

    def replay_ms(self, wall_ms):
        """Replay time at wall-clock time(s) ``wall_ms`` (float or array)."""
        t = np.asarray(wall_ms, dtype=np.float64)
        with self._lock:
            w, r, rate = np.array(self._wall), np.array(self._replay), self._rate
        before = t - w[0] + r[0]
        after = r[-1] + (t - w[-1]) * rate
        inside = np.interp(t, w, r)
        return np.where(t < w[0], before, np.where(t > w[-1], after, inside))

    def wall_ms(self, replay_ms: float) -> float:
        """The first wall-clock time at which the replay reaches ``replay_ms`` (inf
        when it is held short of it)."""
        with self._lock:
            w, r, rate = list(self._wall), list(self._replay), self._rate
        if replay_ms <= r[0]:
            return w[0] - (r[0] - replay_ms)
        if replay_ms > r[-1]:
            return w[-1] + (replay_ms - r[-1]) / rate if rate else float("inf")
        i = int(np.searchsorted(r, replay_ms, side="left"))  # r[i-1] < replay_ms <= r[i]
        return w[i - 1] + (w[i] - w[i - 1]) * (replay_ms - r[i - 1]) / (r[i] - r[i - 1])

    def _turn(self, now_ms: int, rate: float) -> None:
        with self._lock:
            now = max(float(now_ms), self._wall[-1])
            self._replay.append(self._replay[-1] + (now - self._wall[-1]) * self._rate)
            self._wall.append(now)
            self._rate = rate

    def hold(self, now_ms: int, *, release_on_price: bool = True) -> None:
        """Stop the replay at ``now_ms``; with ``release_on_price`` it runs again at
        the next price request (``priced``)."""
        self._turn(now_ms, 0.0)
        self._release_on_price = release_on_price

    def release(self, now_ms: int) -> None:
        """Run the replay again from ``now_ms``."""
        self._release_on_price = False
        if self.held:
            self._turn(now_ms, 1.0)

    def priced(self, path: str, now_ms: int) -> None:
        """A request for ``path`` at ``now_ms``: a price request releases a hold that
        waits for one (before it is answered, so the answer is the held price)."""
        if self._release_on_price and path in PRICE_PATHS:
            self.release(now_ms)


class PacedClock:
    """A ``ReplayClock`` read through a ``ReplayPace`` (same two methods)."""

    def __init__(self, clock, pace: ReplayPace) -> None:
        self.clock, self.pace = clock, pace

    def position(self, t_ms):
        return self.clock.position(self.pace.replay_ms(t_ms))

    def time_at(self, position: float) -> float:
        return self.pace.wall_ms(self.clock.time_at(position))
