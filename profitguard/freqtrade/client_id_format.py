"""The shape of a client order id on each exchange Freqtrade supports.

profitguard sends its id through ccxt's unified `clientOrderId` parameter; ccxt
renames it for the exchange (Binance `newClientOrderId`, OKX `clOrdId`, Bybit
`orderLinkId`, Gate `text` with ccxt's `t-` prefix, ...). Each exchange limits the
characters and the length it accepts, so the id is built for the exchange's format:

- `pg-<trade id>-<tag>-<n>` where `-` is allowed (Binance, Bybit, Gate, Bitget,
  BingX), the tag's other characters replaced;
- `pg<trade id>T<tag>N<n>` where only letters and digits are (OKX): the tag is
  lowercased and cut to letters and digits, so `T` and `N` mark its ends.

The trade id and `n` are never cut (they make an id unique); a long tag is. An
exchange with no entry here (or `None`) has no format profitguard has checked: the
feature is off there, with one line saying so. tests/integration/
test_client_id_exchanges.py shows, for every exchange Freqtrade lists as supported,
the request ccxt builds with these ids (offline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "pg"


@dataclass(frozen=True, slots=True)
class IdFormat:
    """A client order id an exchange accepts: at most `max_length` characters of
    `allowed` (a regex character class)."""

    name: str  # what the exchange calls the field (`a/b`: spot/futures)
    max_length: int
    allowed: str  # a regex character class, e.g. "A-Za-z0-9_-"
    dashes: bool  # `-` separates the parts; else `T`/`N` with a lowercased tag

    @property
    def valid(self) -> re.Pattern[str]:
        return re.compile(rf"^[{self.allowed}]{{1,{self.max_length}}}$")

    def _tag(self, tag: str, room: int) -> str:
        if self.dashes:
            other = "." if "." in self.allowed else "_"
            safe = re.sub(rf"[^{self.allowed}]", other, tag or "exit")
        else:
            safe = re.sub(r"[^a-z0-9]", "", (tag or "exit").lower()) or "x"
        return safe[: max(room, 1)]

    def build(self, middle: str, tag: str, tail: str) -> str:
        """`pg-<middle>-<tag>-<tail>` (or `pg<middle>T<tag>N<tail>`), the tag cut so
        the id fits."""
        if self.dashes:
            head, end = f"{PREFIX}-{middle}-", f"-{tail}"
        else:
            head, end = f"{PREFIX}{middle}T", f"N{tail}"
        client_id = head + self._tag(tag, self.max_length - len(head) - len(end)) + end
        if not self.valid.match(client_id):
            raise ValueError(f"client order id {client_id!r} does not match {self.valid.pattern}")
        return client_id


# Binance's documented pattern: ^[\.A-Z\:/a-z0-9_-]{1,36}$
BINANCE = IdFormat("newClientOrderId", 36, r"\.A-Z:/a-z0-9_-", dashes=True)
# ccxt exchange id -> the format its exchange accepts (None: not checked, feature off)
FORMATS: dict[str, IdFormat | None] = {
    "binance": BINANCE,
    "binanceus": BINANCE,
    "binanceusdm": BINANCE,
    # orderLinkId: up to 36 letters, digits, `-` and `_`
    "bybit": IdFormat("orderLinkId", 36, "A-Za-z0-9_-", dashes=True),
    "bybiteu": IdFormat("orderLinkId", 36, "A-Za-z0-9_-", dashes=True),
    # clOrdId: letters and digits only, up to 32
    "okx": IdFormat("clOrdId", 32, "A-Za-z0-9", dashes=False),
    "myokx": IdFormat("clOrdId", 32, "A-Za-z0-9", dashes=False),
    # text: ccxt adds `t-`; up to 28 more of letters, digits, `_`, `-`, `.`
    "gate": IdFormat("text", 28, r"A-Za-z0-9_.-", dashes=True),
    "gateeu": IdFormat("text", 28, r"A-Za-z0-9_.-", dashes=True),
    # listed by Freqtrade 2026.1, gone from the ccxt it now installs: not checked
    "bitmart": None,
    # clientOid: letters, digits, `_`, `-`; kept within 32
    "bitget": IdFormat("clientOid", 32, "A-Za-z0-9_-", dashes=True),
    # newClientOrderId / clientOrderId: 1 to 40 characters
    "bingx": IdFormat("newClientOrderId/clientOrderID", 40, "A-Za-z0-9_-", dashes=True),
    # cl_ord_id: a UUID or up to 18 characters of free text, too short for an
    # entry's id (`pg-new-<tag>-<ms>`): not built here
    "kraken": None,
    # client-order-id (spot): characters not documented; futures take an integer
    "htx": None,
    # cloid: a 128-bit hex string, unique per account: not built here
    "hyperliquid": None,
    # cliOrdId: characters not documented, unique for ever
    "krakenfutures": None,
}


def id_format(exchange_id: str) -> IdFormat | None:
    """The format of `exchange_id`'s (ccxt's id) client order ids; None: not checked."""
    return FORMATS.get(exchange_id)


def exit_client_id(trade_id: int, tag: str, n: int, fmt: IdFormat = BINANCE) -> str:
    """The id of a trade's `n`-th order, an exit tagged `tag`."""
    return fmt.build(str(trade_id), tag, str(n))


def entry_client_id(tag: str | None, millis: int, fmt: IdFormat = BINANCE) -> str:
    """The id of an entry placed at `millis` (ms since the epoch; no trade id yet)."""
    return fmt.build("new", tag or "entry", str(millis))
