"""The HTTP layer: a threading HTTP server in front of ``BinanceSpotApi``.

``build_api`` assembles markets and a price feed from a data directory, a pair list
and (for live replay) replay options; ``ExchangeServer`` serves it; ``serve`` runs it
in the foreground until SIGINT or SIGTERM.
"""

from __future__ import annotations

import errno
import json
import logging
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from profitguard.tooling.exchange.api import BinanceSpotApi, build_markets
from profitguard.tooling.exchange.candle_files import CandleStore
from profitguard.tooling.exchange.faults import FaultPlan
from profitguard.tooling.exchange.feeds import (
    HistoryFeed,
    ReplayFeed,
    ReplaySource,
    default_start_index,
)
from profitguard.tooling.exchange.ohlcv import Candles, timeframe_ms
from profitguard.tooling.exchange.pace import ReplayPace

logger = logging.getLogger(__name__)


MAX_BODY_BYTES = 1 << 20  # the largest request body read (Binance's are a few hundred bytes)
IDLE_TIMEOUT_S = 60.0  # a connection silent this long is closed
MAX_CONNECTIONS = 256  # connections served at once (one thread each); more get a 503


class PortInUseError(OSError):
    """The address the server should listen on is taken."""


class BadRequest(Exception):
    """A request refused before it reaches the API (HTTP status and Binance's body)."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.body = status, {"code": code, "msg": msg}


def body_length(header: str | None, most: int = MAX_BODY_BYTES) -> int:
    """The ``Content-Length`` to read: 0 when absent; 400 for anything but digits
    (a sign, a space, two values), 413 above ``most`` (the body is never read then)."""
    if header is None:
        return 0
    if not (header.isascii() and header.isdigit()) or len(header) > 20:
        raise BadRequest(400, -1100, f"Content-Length must be a number of bytes, was {header!r}.")
    length = int(header)
    if length > most:
        raise BadRequest(413, -1100, f"Request body of {length} bytes is over {most} bytes.")
    return length


@dataclass(frozen=True, kw_only=True)
class ReplayOptions:
    """Live replay: one source candle every ``seconds_per_candle`` wall-clock seconds.

    Source candles come from the data dir's ``timeframe`` files, overridden per pair by
    ``sources`` (e.g. a scripted path). Replay starts at ``start_ms`` (the first data
    candle at or after it) or, by default, 1500 candles into the data (half of shorter
    data); a ``ReplaySource`` carries its own start. Before the start, one candle
    passes per ``history_seconds_per_candle`` (default: the source timeframe).
    ``held``: the replay stands at its start until the first price request (a bot's
    first loop) instead of running from the server's start.
    """

    seconds_per_candle: float = 5.0
    history_seconds_per_candle: float | None = None
    timeframe: str = "5m"
    start_ms: int | None = None
    sources: dict[str, ReplaySource] = field(default_factory=dict)
    held: bool = False

    def __post_init__(self) -> None:
        for name in ("seconds_per_candle", "history_seconds_per_candle"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name!r} must be positive, was {value!r}")
        timeframe_ms(self.timeframe)


def _start_index(candles: Candles, start_ms: int | None) -> int:
    if start_ms is None:
        return default_start_index(len(candles))
    return int(np.searchsorted(candles.ts, start_ms, side="left"))


def build_api(
    *,
    datadir: Path | None,
    pairs: list[str] | tuple[str, ...] = (),
    replay: ReplayOptions | None = None,
    now_ms: int | None = None,
    clock=None,
    credentials=None,
    balances: dict[str, float] | None = None,
    faults: FaultPlan | None = None,
) -> BinanceSpotApi:
    """Markets for ``pairs`` and every pair found in ``datadir``, with a history feed,
    or a replay feed when ``replay`` is given (its clock starting at ``now_ms``).
    Futures pairs (``BTC/USDT:USDT``) and the data in ``datadir/futures`` are served
    on ``/fapi`` (see ``profitguard.tooling.exchange.futures``). ``credentials``
    (``private.Credentials``) switch on the signed endpoints, with an account holding
    ``balances``; ``faults`` injects the plan's faults."""
    from profitguard.tooling.exchange.futures import build_futures_api, is_futures_pair

    spot_pairs = [p for p in pairs if not is_futures_pair(p)]
    t0 = int(time.time() * 1000) if now_ms is None else now_ms
    store = CandleStore(Path(datadir)) if datadir is not None else CandleStore.empty()
    spot_sources = {k: v for k, v in (replay.sources if replay else {}).items()
                    if not is_futures_pair(k)}  # fmt: skip
    pace = ReplayPace(t0, held=replay.held) if replay is not None else None
    feed = _feed(store, replay, spot_sources, t0, pace)
    futures_feed = None
    if replay is not None:
        futures_store = (
            CandleStore(Path(datadir), "futures") if datadir is not None else CandleStore.empty()
        )
        futures_sources = {k: v for k, v in replay.sources.items() if is_futures_pair(k)}
        futures_feed = _feed(futures_store, replay, futures_sources, t0, pace)
    futures = build_futures_api(datadir=datadir, pairs=pairs, replay_feed=futures_feed, clock=clock)
    markets = build_markets(set(spot_pairs) | set(feed.pairs()), feed)
    api = BinanceSpotApi(markets, feed, clock=clock, futures=futures)
    api.faults = faults or FaultPlan.none()
    api.pace = pace
    if credentials is not None:
        from profitguard.tooling.exchange.private import PrivateApi

        api.private = PrivateApi(
            credentials=credentials,
            by_symbol=api.by_symbol,
            feed=feed,
            clock=api.clock,
            balances=balances,
            faults=api.faults,
        )
        if futures is not None:
            from profitguard.tooling.exchange.futures_private import (
                FuturesPrivateApi,
                futures_wallet,
            )

            api.futures_private = FuturesPrivateApi(
                credentials=credentials,
                spot=api.private,
                public=futures,
                clock=api.clock,
                wallet=futures_wallet(balances or {}, futures),
                faults=api.faults,
            )
    return api


def _feed(
    store: CandleStore,
    replay: ReplayOptions | None,
    scripted: dict,
    t0: int,
    pace: ReplayPace | None = None,
):
    """A history feed of ``store``, or its replay (plus ``scripted`` sources) from ``t0``,
    held and released by ``pace``."""
    if replay is None:
        return HistoryFeed(store)
    sources: dict[str, ReplaySource] = {}
    for pair in store.pairs():
        if replay.timeframe not in store.timeframes(pair):
            logger.warning(
                "replay: %s has no %s data in %s, it is not replayed",
                pair,
                replay.timeframe,
                store.datadir,
            )
            continue
        candles = store.candles(pair, replay.timeframe)
        sources[pair] = ReplaySource(
            candles, replay.timeframe, _start_index(candles, replay.start_ms)
        )
    sources.update(scripted)
    return ReplayFeed(
        sources,
        t0_ms=t0,
        seconds_per_candle=replay.seconds_per_candle,
        history_seconds_per_candle=replay.history_seconds_per_candle,
        pace=pace,
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "profitguard-offline-exchange/1"
    server: ExchangeServer

    @property
    def timeout(self) -> float:  # the socket's: an idle or stalled client is dropped
        return self.server.idle_timeout

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            length = body_length(self.headers.get("Content-Length"), self.server.max_body)
        except BadRequest as refused:
            self.close_connection = True  # the body (if any) is left unread
            self._answer(refused.status, refused.body, close=True)
            return
        raw_body = self.rfile.read(length).decode(errors="replace") if length else ""
        api = self.server.api
        fault = None
        if not parts.path.startswith("/_profitguard/"):
            fault = api.faults.http_fault(f"{method} {parts.path}")
        if fault is not None and fault[0] in ("ban", "rate_limit", "http_error"):
            self._answer_fault(*fault)
            return
        try:
            status, body = api.handle(
                method,
                parts.path,
                query,
                raw_query=parts.query,
                body=raw_body,
                headers=dict(self.headers.items()),
            )
        except Exception:
            logger.exception("error answering %s %s", method, parts.path)
            status, body = 500, {"code": -1000, "msg": "An unknown error occurred."}
        data = json.dumps(body, separators=(",", ":")).encode()
        if fault is not None and fault[0] == "slow":
            time.sleep(float(fault[1]["delay_s"]))
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault is not None and fault[0] == "drop":
            # the request took effect; its answer is cut off half-way
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(data)

    def _answer(self, status: int, body: dict, *, close: bool = False) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _answer_fault(self, kind: str, settings: dict) -> None:
        """Binance's answers to an overloaded or banned client, or a server error."""
        if kind == "http_error":
            status = int(settings["status"])
            body = {"code": -1001, "msg": "Internal error; unable to process your request."}
        elif kind == "rate_limit":
            status = 429
            body = {
                "code": -1003,
                "msg": "Too much request weight used; current limit is "
                "6000 request weight per 1 MINUTE.",
            }
        else:
            status = 418
            body = {"code": -1003, "msg": "Way too much request weight used; IP banned."}
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        if kind in ("rate_limit", "ban"):
            self.send_header("Retry-After", str(settings["retry_after"]))
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class ExchangeServer(ThreadingHTTPServer):
    """Serves one ``BinanceSpotApi``. Port 0 picks a free port (see ``url``).

    One thread per connection, at most ``max_connections`` at once: one more is
    answered 503 (Binance's -1008, server busy) and closed, so idle clients cannot
    make it start threads without end; a connection idle for ``idle_timeout``
    seconds is closed, and a body over ``max_body`` bytes is refused (413) unread."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(
        self,
        api: BinanceSpotApi,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        max_connections: int = MAX_CONNECTIONS,
        max_body: int = MAX_BODY_BYTES,
        idle_timeout: float = IDLE_TIMEOUT_S,
    ) -> None:
        self.api = api
        self.max_body, self.idle_timeout = max_body, idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        try:
            super().__init__((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    errno.EADDRINUSE,
                    f"port {port} on {host} is already in use "
                    "(another `profitguard exchange` running? choose one with --port)",
                ) from None
            raise
        self._thread: threading.Thread | None = None

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request, client_address)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse_busy(self, request, client_address) -> None:
        logger.warning("busy: %s refused, all connections in use", client_address)
        data = json.dumps(
            {"code": -1008, "msg": "Server is currently overloaded with other requests."}
        ).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json;charset=UTF-8\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            request.settimeout(1.0)
            request.sendall(head + data)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        """A client that hung up mid-answer (a bot killed, a fault dropping the
        connection) is routine here: one debug line, not socketserver's traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            logger.debug("client %s went away: %r", client_address, exc)
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ExchangeServer:
        """Serve from a daemon thread; returns at once."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


def serve(server: ExchangeServer, stop_event: threading.Event | None = None) -> None:
    """Serve until SIGINT/SIGTERM (or ``stop_event``), then shut down cleanly."""
    stop_event = stop_event or threading.Event()

    def _on_signal(signum, _frame) -> None:
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        stop_event.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        while not stop_event.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logger.info("offline exchange stopped")
