"""Seeded fault injection for the offline exchange.

A scenario file lists rules; each rule names a fault ``kind``, the requests it
targets (``endpoint``: ``"POST /api/v3/order"``, a glob such as ``"GET /api/v3/*"``,
or ``"*"``) and when it fires: with a ``probability`` per targeted request, for the
first ``count`` targeted requests, or both (at most ``count`` times, each with the
probability), after skipping the first ``after``. Every rule draws from its own
generator seeded from the plan's seed and the rule's position, so the same file and
seed inject the same faults at the same requests.

    {"seed": 7, "faults": [
        {"kind": "http_error", "endpoint": "POST /api/v3/order", "probability": 0.2},
        {"kind": "rate_limit", "endpoint": "GET /api/v3/*", "count": 2, "retry_after": 1},
        {"kind": "partial_fill", "probability": 0.5, "pieces": 3, "interval_ms": 2000}
    ]}
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# kind -> (its own settings with their defaults, the endpoint it acts on by default)
KINDS: dict[str, tuple[dict, str]] = {
    # answered by the HTTP layer, before (or instead of) the request's effect
    "http_error": ({"status": 503}, "*"),
    "rate_limit": ({"retry_after": 1}, "*"),
    "ban": ({"retry_after": 2}, "*"),
    "slow": ({"delay_s": 12.0}, "*"),  # past ccxt's 10 s timeout; the request still runs
    "drop": ({}, "*"),  # the request runs, the connection closes mid-answer
    # decided by the matching engine
    "reject": ({"reason": "insufficient_balance"}, "POST /api/v3/order"),  # or a filter name
    "partial_fill": ({"pieces": 3, "interval_ms": 2000}, "POST /api/v3/order"),
    "fill_on_cancel": ({}, "DELETE /api/v3/order"),
    "status_lag": ({"lag_ms": 3000}, "GET /api/v3/order"),
    "price_gap": ({"gap": 0.03, "hold_ms": 5000}, "stop"),
    # a pair's prices stop updating: its tickers and order book answer as they did when
    # the rule first fired (candles go on); targets "<endpoint> <pair>"
    "stale_ticker": ({}, "GET /api/v3/*"),
}
HTTP_KINDS = ("ban", "rate_limit", "http_error", "slow", "drop")
RULE_KEYS = ("kind", "endpoint", "probability", "count", "after")
REJECT_REASONS = ("insufficient_balance", "LOT_SIZE", "PRICE_FILTER", "NOTIONAL")


def _unknown(name: str, value: str, known) -> ValueError:
    close = difflib.get_close_matches(value, list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"{name}: unknown {value!r}.{hint} Known: {', '.join(known)}")


@dataclass(kw_only=True)
class FaultRule:
    kind: str
    endpoint: str
    probability: float | None = None
    count: int | None = None
    after: int = 0
    settings: dict = field(default_factory=dict)
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_dict(cls, raw: dict, where: str) -> FaultRule:
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected an object, was {raw!r}")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise _unknown(f"{where}.kind", str(kind), KINDS)
        defaults, endpoint = KINDS[kind]
        for key in raw:
            if key not in RULE_KEYS and key not in defaults:
                raise _unknown(f"{where}", key, (*RULE_KEYS, *defaults))
        probability, count = raw.get("probability"), raw.get("count")
        if probability is None and count is None:
            raise ValueError(f"{where}: give 'probability' or 'count' (when the fault fires)")
        if probability is not None and not (
            isinstance(probability, int | float) and 0 <= probability <= 1
        ):
            raise ValueError(f"{where}.probability must be in [0, 1], was {probability!r}")
        for name in ("count", "after"):
            value = raw.get(name)
            if value is not None and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{where}.{name} must be an integer >= 0, was {value!r}")
        settings = {**defaults, **{k: raw[k] for k in defaults if k in raw}}
        if kind == "reject" and settings["reason"] not in REJECT_REASONS:
            raise _unknown(f"{where}.reason", str(settings["reason"]), REJECT_REASONS)
        return cls(
            kind=kind,
            endpoint=str(raw.get("endpoint", endpoint)),
            probability=probability,
            count=count,
            after=raw.get("after", 0),
            settings=settings,
        )

    def targets(self, target: str) -> bool:
        return fnmatch.fnmatchcase(target, self.endpoint) or fnmatch.fnmatchcase(
            target, self.endpoint + " *"
        )


class FaultPlan:
    """The rules of one run and what they injected (``injected``: kind -> count)."""

    def __init__(self, rules: list[FaultRule], seed: int = 0) -> None:
        self.rules = rules
        self.seed = seed
        self._rngs = [random.Random(f"{seed}:{i}") for i in range(len(rules))]
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.log: list[dict] = []

    @classmethod
    def none(cls) -> FaultPlan:
        return cls([], 0)

    @classmethod
    def from_dict(cls, raw: dict, seed: int | None = None, where: str = "faults") -> FaultPlan:
        if not isinstance(raw, dict):
            raise ValueError(f'{where}: expected {{"seed": N, "faults": [...]}}, was {raw!r}')
        for key in raw:
            if key not in ("seed", "faults"):
                raise _unknown(where, key, ("seed", "faults"))
        rules_raw = raw.get("faults", [])
        if not isinstance(rules_raw, list):
            raise ValueError(f"{where}.faults must be a list, was {rules_raw!r}")
        rules = [FaultRule.from_dict(r, f"{where}.faults[{i}]") for i, r in enumerate(rules_raw)]
        file_seed = raw.get("seed", 0)
        if not isinstance(file_seed, int):
            raise ValueError(f"{where}.seed must be an integer, was {file_seed!r}")
        return cls(rules, file_seed if seed is None else seed)

    @classmethod
    def from_file(cls, path: Path, seed: int | None = None) -> FaultPlan:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"--faults: cannot read {path}: {exc}") from None
        return cls.from_dict(raw, seed, where=str(path))

    def fire(self, kind: str, target: str) -> dict | None:
        """The settings of the first rule of ``kind`` that fires for ``target``, or None."""
        with self._lock:
            for rule, rng in zip(self.rules, self._rngs, strict=True):
                if rule.kind != kind or not rule.targets(target):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.probability is not None and not rng.random() < rule.probability:
                    continue
                rule.fired += 1
                self.injected[kind] += 1
                self.log.append({"kind": kind, "target": target})
                return dict(rule.settings)
        return None

    def http_fault(self, endpoint: str) -> tuple[str, dict] | None:
        """The HTTP-level fault (kind, settings) for a request, if one fires."""
        for kind in HTTP_KINDS:
            settings = self.fire(kind, endpoint)
            if settings is not None:
                return kind, settings
        return None

    def summary(self) -> dict:
        with self._lock:
            return {"seed": self.seed, "injected": dict(self.injected), "total": self.total}

    @property
    def total(self) -> int:
        return sum(self.injected.values())
