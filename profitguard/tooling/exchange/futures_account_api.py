"""The account endpoints of the offline Binance USDⓈ-M futures API: the wallet and
position views (``/fapi/v2|v3/account``, ``balance``, ``positionRisk``), leverage and
margin type per symbol, and the account's settings and commission rates.

A base class of ``FuturesPrivateApi``, which provides ``ledger``, ``public``,
``_advance`` and ``_spec_of`` and routes the requests here.
"""

from __future__ import annotations

import logging

from profitguard.tooling.exchange.api import ApiError
from profitguard.tooling.exchange.futures import FuturesSpec
from profitguard.tooling.exchange.futures_account import (
    MAKER_FEE,
    MARGIN_TYPES,
    TAKER_FEE,
    liquidation_price,
    unrealized_pnl,
)
from profitguard.tooling.exchange.futures_ledger import Position
from profitguard.tooling.exchange.ledger import q
from profitguard.tooling.exchange.markets import fmt

logger = logging.getLogger("profitguard.tooling.exchange.futures_private")


class AccountEndpoints:
    """Wallet, positions, leverage and margin type: read and set under the ledger's lock."""

    def _mark(self, spec: FuturesSpec, now: int) -> float:
        return self.public._mark(spec, now)

    def _bracket(self, spec: FuturesSpec, notional: float):
        for b in spec.brackets:
            if notional <= b.notional_cap:
                return b
        return spec.brackets[-1]

    def _asset_view(self, asset: str, now: int) -> dict:
        wallet = self.ledger.wallet.get(asset, 0.0)
        upnl = sum(
            unrealized_pnl(p.amount, p.entry_price, self._mark(self.public.markets[pair], now))
            for pair, p in self.ledger.positions.items()
            if pair.endswith(":" + asset) and p.amount
        )
        pos_margin = self.ledger.position_margin(asset)
        order_margin = self.ledger.order_margin(asset)
        available = self.ledger.available(asset)
        return {
            "asset": asset,
            "walletBalance": fmt(wallet),
            "unrealizedProfit": fmt(q(upnl)),
            "marginBalance": fmt(q(wallet + upnl)),
            "maintMargin": fmt(q(self._maint_total(asset, now))),
            "initialMargin": fmt(q(pos_margin + order_margin)),
            "positionInitialMargin": fmt(q(pos_margin)),
            "openOrderInitialMargin": fmt(q(order_margin)),
            "crossWalletBalance": fmt(q(wallet - pos_margin)),
            "crossUnPnl": "0",
            "availableBalance": fmt(available),
            "maxWithdrawAmount": fmt(available),
            "marginAvailable": True,
            "updateTime": now,
        }

    def _maint_total(self, asset: str, now: int) -> float:
        total = 0.0
        for pair, p in self.ledger.positions.items():
            if pair.endswith(":" + asset) and p.amount:
                spec = self.public.markets[pair]
                notional = abs(p.amount) * self._mark(spec, now)
                b = self._bracket(spec, notional)
                total += notional * b.maint_margin_ratio - b.cum
        return total

    def _position_view(self, pair: str, pos: Position, now: int) -> dict:
        spec = self.public.markets[pair]
        mark = self._mark(spec, now)
        notional = pos.amount * mark
        bracket = self._bracket(spec, abs(notional))
        upnl = unrealized_pnl(pos.amount, pos.entry_price, mark)
        maint = max(abs(notional) * bracket.maint_margin_ratio - bracket.cum, 0.0)
        isolated = pos.margin_type == "ISOLATED"
        liq = liquidation_price(
            pos.amount, pos.entry_price, pos.isolated_margin, bracket.maint_margin_ratio,
            bracket.cum,
        )  # fmt: skip
        return {
            "symbol": spec.symbol,
            "positionSide": "BOTH",
            "positionAmt": fmt(pos.amount),
            "entryPrice": fmt(pos.entry_price),
            "breakEvenPrice": fmt(pos.entry_price),
            "markPrice": fmt(mark),
            "unRealizedProfit": fmt(q(upnl)),
            "liquidationPrice": fmt(q(liq)),
            "isolatedMargin": fmt(q(pos.isolated_margin + upnl) if pos.amount else 0.0),
            "notional": fmt(q(notional)),
            "marginAsset": spec.quote,
            "isolatedWallet": fmt(pos.isolated_margin),
            "initialMargin": fmt(pos.isolated_margin),
            "maintMargin": fmt(q(maint)),
            "positionInitialMargin": fmt(pos.isolated_margin),
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": pos.update_time,
            # v2 fields
            "leverage": str(pos.leverage),
            "marginType": "isolated" if isolated else "cross",
            "isAutoAddMargin": "false",
            "maxNotionalValue": fmt(bracket.notional_cap),
        }

    def account(self, params: dict[str, str], now: int) -> dict:
        with self.ledger.lock:
            self._advance(now)
            assets = [self._asset_view(a, now) for a in sorted(self.ledger.wallet)]
            positions = [
                self._position_view(pair, p, now)
                for pair, p in sorted(self.ledger.positions.items())
                if p.amount
            ]

        def total(key: str) -> str:
            return fmt(q(sum(float(a[key]) for a in assets)))

        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": False,
            "canWithdraw": False,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            "totalInitialMargin": total("initialMargin"),
            "totalMaintMargin": total("maintMargin"),
            "totalWalletBalance": total("walletBalance"),
            "totalUnrealizedProfit": total("unrealizedProfit"),
            "totalMarginBalance": total("marginBalance"),
            "totalPositionInitialMargin": total("positionInitialMargin"),
            "totalOpenOrderInitialMargin": total("openOrderInitialMargin"),
            "totalCrossWalletBalance": total("crossWalletBalance"),
            "totalCrossUnPnl": "0",
            "availableBalance": total("availableBalance"),
            "maxWithdrawAmount": total("maxWithdrawAmount"),
            "assets": assets,
            "positions": positions,
        }

    def balance(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            out = []
            for asset in sorted(self.ledger.wallet):
                view = self._asset_view(asset, now)
                out.append({
                    "accountAlias": "pg", "asset": asset, "balance": view["walletBalance"],
                    "crossWalletBalance": view["crossWalletBalance"], "crossUnPnl": "0",
                    "availableBalance": view["availableBalance"],
                    "maxWithdrawAmount": view["maxWithdrawAmount"], "marginAvailable": True,
                    "updateTime": now,
                })  # fmt: skip
            return out

    def position_risk(self, params: dict[str, str], now: int) -> list:
        with self.ledger.lock:
            self._advance(now)
            if params.get("symbol"):
                spec = self._spec_of(params)
                chosen = [(spec.pair, self.ledger.position(spec.pair))]
            else:
                chosen = sorted(self.ledger.positions.items())
            return [self._position_view(pair, p, now) for pair, p in chosen]

    def set_leverage(self, params: dict[str, str], now: int) -> dict:
        spec = self._spec_of(params)
        try:
            leverage = int(params.get("leverage", ""))
        except ValueError:
            raise ApiError(
                400,
                -1102,
                "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed.",
            ) from None
        top = max(b.initial_leverage for b in spec.brackets)
        if not 1 <= leverage <= top:
            raise ApiError(400, -4028, f"Leverage {leverage} is not valid")
        with self.ledger.lock:
            self._advance(now)
            pos = self.ledger.position(spec.pair)
            if pos.amount:
                # the isolated margin follows the new leverage; more must be available
                needed = abs(pos.amount) * pos.entry_price / leverage
                if needed - pos.isolated_margin > self.ledger.available(spec.quote) + 1e-9:
                    raise ApiError(400, -2019, "Margin is insufficient.")
                pos.isolated_margin = q(needed)
            pos.leverage = leverage
            cap = max(
                (b.notional_cap for b in spec.brackets if b.initial_leverage >= leverage),
                default=spec.brackets[0].notional_cap,
            )
        logger.info("leverage %s: %dx", spec.pair, leverage)
        return {"leverage": leverage, "maxNotionalValue": fmt(cap), "symbol": spec.symbol}

    def set_margin_type(self, params: dict[str, str], now: int) -> dict:
        spec = self._spec_of(params)
        wanted = params.get("marginType", "").upper()
        if wanted not in MARGIN_TYPES:
            raise ApiError(400, -1116, "Invalid marginType.")
        with self.ledger.lock:
            self._advance(now)
            pos = self.ledger.position(spec.pair)
            if pos.margin_type == wanted:
                raise ApiError(400, -4046, "No need to change margin type.")
            if pos.amount:
                raise ApiError(
                    400, -4048, "Margin type cannot be changed if there exists position."
                )
            if any(o.is_open and o.spec is spec for o in self.ledger.orders.values()):
                raise ApiError(
                    400, -4047, "Margin type cannot be changed if there exists open orders."
                )
            pos.margin_type = wanted
        logger.info("margin type %s: %s", spec.pair, wanted)
        return {"code": 200, "msg": "success"}

    def symbol_config(self, params: dict[str, str], now: int) -> list:
        specs = (
            [self._spec_of(params)] if params.get("symbol") else list(self.public.markets.values())
        )
        with self.ledger.lock:
            return [
                {
                    "symbol": s.symbol,
                    "marginType": self.ledger.position(s.pair).margin_type,
                    "isAutoAddMargin": "false",
                    "leverage": self.ledger.position(s.pair).leverage,
                    "maxNotionalValue": fmt(s.brackets[0].notional_cap),
                }
                for s in specs
            ]

    def account_config(self, params: dict[str, str], now: int) -> dict:
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": False,
            "canWithdraw": False,
            "dualSidePosition": False,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }

    def commission_rate(self, params: dict[str, str], now: int) -> dict:
        spec = self._spec_of(params)
        return {
            "symbol": spec.symbol,
            "makerCommissionRate": fmt(MAKER_FEE),
            "takerCommissionRate": fmt(TAKER_FEE),
        }
