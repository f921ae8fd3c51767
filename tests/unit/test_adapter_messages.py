"""Messages that arrive: Freqtrade drops a strategy's `dp.send_msg` messages on every
channel without `allow_custom_messages`; the bot says so once at start-up."""

from __future__ import annotations

import logging

import pytest
from freqtrade.enums import RunMode

from tests.unit.test_adapter_strategy import started

WARNING = "profitguard: notifications are on, but Freqtrade drops them"


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(WARNING)]


@pytest.mark.parametrize("runmode", [RunMode.DRY_RUN, RunMode.LIVE])
def test_start_when_telegram_on_without_allow_custom_messages_then_one_warning_naming_it(
    runmode, caplog
):
    caplog.set_level(logging.WARNING)
    started(runmode=runmode, telegram={"enabled": True, "token": "t", "chat_id": "c"},
            webhook={"enabled": True, "url": "http://127.0.0.1:9/"})  # fmt: skip
    assert warnings(caplog) == [
        f"{WARNING}: set \"allow_custom_messages\": true in 'telegram', 'webhook' of the "
        'config (or profitguard\'s "notifications": false to mean it)'
    ]


@pytest.mark.parametrize(
    "config",
    [
        {"telegram": {"enabled": True, "allow_custom_messages": True}},
        {"telegram": {"enabled": False}},  # no channel on: nothing to warn about
        {"telegram": {"enabled": True}, "profitguard": {"notifications": False}},
        {"telegram": {"enabled": True}, "runmode": RunMode.BACKTEST},
    ],
)
def test_start_when_messages_allowed_off_or_not_sent_then_no_warning(config, caplog):
    caplog.set_level(logging.WARNING)
    started(**({"runmode": RunMode.DRY_RUN} | config))
    assert warnings(caplog) == []
