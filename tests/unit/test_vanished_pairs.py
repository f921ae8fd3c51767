"""A pair the exchange no longer knows: Freqtrade's warnings about it held back, one
report a loop naming the trade and what the user can do (`vanished`)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from profitguard.freqtrade.vanished import VanishedPairs

BAD = 'binance {"code":-1121,"msg":"Invalid symbol."}'
# what Freqtrade 2026.9 logged in 40 s after RST/USDT was removed (counts per loop vary)
FLOOD = [
    ("freqtrade.exchange.common", f'fetch_l2_order_book() returned exception: "Could not get '
                                  f'order book due to BadSymbol. Message: {BAD}"'),
    ("freqtrade.exchange.common", '_async_get_candle_history() returned exception: "Could not '
                                  f'fetch historical candle (OHLCV) data for RST/USDT, 1m. {BAD}"'),
    ("freqtrade.freqtradebot", "Unable to exit trade RST/USDT: Could not get order book due to "
                               f"BadSymbol. Message: {BAD}"),
    ("freqtrade.freqtradebot", "Unable to adjust position of trade for RST/USDT: Could not get "
                               f"order book due to BadSymbol. Message: {BAD}"),
]  # fmt: skip
TRADE = SimpleNamespace(id=3, pair="RST/USDT", amount=8.031)


@pytest.fixture
def logged():
    """A logger whose handler keeps what passes (as Freqtrade's root handlers do)."""
    logger = logging.getLogger("test_vanished_root")
    logger.propagate = False
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    other = logging.NullHandler()  # Freqtrade's root has several: each record counts once
    logger.addHandler(handler)
    logger.addHandler(other)
    yield logger, records
    logger.removeHandler(handler)
    logger.removeHandler(other)


def flood(loops: int, per_loop: int = 4):
    for _ in range(loops):
        for name, message in FLOOD * per_loop:
            yield logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)


def test_loop_when_the_exchange_lost_a_traded_pair_then_one_report_a_loop(logged, caplog):
    logger, records = logged
    sent: list[str] = []
    vanished = VanishedPairs(sent.append)
    vanished.install(logger)
    vanished.loop([TRADE])  # the first loop: the open pairs to look for
    reports = []
    for _ in range(20):  # 16 warnings a loop, as in 1,200 in 75 s
        for record in list(flood(1)):
            logger.handle(record)
        reports += vanished.loop([TRADE])
    assert records == []  # every one held back
    assert len(reports) == 20  # one a loop
    assert reports[0] == (
        "profitguard: RST/USDT is no longer traded on the exchange (it answers 'Invalid "
        "symbol'): trade 3 holds 8.031 RST, which the bot can neither price nor exit. What "
        "you can do: if it was delisted, sell the RST on the exchange yourself, then remove "
        "the trade from the bot (/delete 3, Telegram or the REST API) and RST/USDT from "
        "pair_whitelist; if the pair comes back, the bot carries on by itself (12 warnings "
        "held back this loop, and 4 naming no pair)"
    )
    assert len(sent) == 1 and sent[0].startswith("profitguard: RST/USDT is no longer traded")
    assert vanished.loop([TRADE]) == []  # quiet again: nothing held back
    vanished.uninstall(logger)
    logger.handle(next(flood(1)))
    assert len(records) == 1


def test_filter_when_other_warnings_or_info_then_they_pass(logged):
    logger, records = logged
    vanished = VanishedPairs()
    vanished.install(logger)
    vanished.loop([TRADE])
    messages = [
        (logging.WARNING, "freqtrade.freqtradebot", "Unable to exit trade RST/USDT: timeout"),
        (logging.INFO, "freqtrade.freqtradebot", f"info only: {BAD}"),
        (logging.WARNING, "profitguard.freqtrade.vanished", f"our own report: {BAD}"),
    ]
    for level, name, message in messages:
        logger.handle(logging.LogRecord(name, level, __file__, 1, message, None, None))
    assert [r.getMessage() for r in records] == [m for _, _, m in messages]
    assert vanished.loop([TRADE]) == []


def test_loop_when_no_open_trade_names_the_pair_then_a_report_all_the_same(logged):
    logger, _ = logged
    vanished = VanishedPairs()
    vanished.install(logger)
    vanished.loop([])
    logger.handle(next(flood(1)))  # the order book warning names no pair
    [report] = vanished.loop([])
    assert "a pair of pair_whitelist is no longer traded there" in report
    assert "1 warnings held back" in report
