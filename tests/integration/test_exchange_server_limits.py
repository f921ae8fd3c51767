"""The offline exchange's HTTP layer under hostile clients, over loopback sockets.

A body over the limit is refused (413) before it is read, a bad Content-Length is a
400 (it closed the connection with no answer, and -1 held the handler), an idle
connection is closed, the connections served at once are bounded (one more gets
Binance's 503 -1008), and per-path counters stay bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from profitguard.tooling.exchange.api import PathCounter
from profitguard.tooling.exchange.server import ExchangeServer, build_api


@pytest.fixture
def serve():
    servers: list[ExchangeServer] = []

    def start(**limits) -> ExchangeServer:
        api = build_api(datadir=None, pairs=["BTC/USDT"])
        server = ExchangeServer(api, "127.0.0.1", 0, **limits).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def connect(server: ExchangeServer) -> socket.socket:
    sock = socket.create_connection(server.server_address[:2], timeout=10)
    sock.settimeout(10)
    return sock


def read_answer(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of one answer (the server closes or sends Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed with no answer after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = next(int(v) for k, _, v in (x.partition(": ") for x in lines[1:])
                  if k.lower() == "content-length")  # fmt: skip
    while len(body) < length:
        body += sock.recv(65536)
    return int(lines[0].split()[1]), json.loads(body[:length])


def post_head(content_length: str) -> bytes:
    return (
        f"POST /api/v3/order HTTP/1.1\r\nHost: x\r\nContent-Length: {content_length}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    ).encode()


def test_request_when_body_over_limit_then_413_before_the_body_is_sent(serve):
    server = serve(max_body=1 << 20)
    with connect(server) as sock:
        sock.sendall(post_head(str(300 << 20)))  # 300 MB announced, none sent
        status, body = read_answer(sock)
    assert status == 413
    assert "over 1048576 bytes" in body["msg"]


def test_request_when_body_at_limit_then_read_and_answered(serve):
    server = serve(max_body=1 << 20)
    with connect(server) as sock:
        sock.sendall(post_head(str(1 << 20)) + b"a" * (1 << 20))
        status, body = read_answer(sock)
    assert status == 400 and body["code"] == -1020  # unserved without keys: read, not refused


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "5, 5", "+5", "5_0", "\u0665"])
def test_request_when_content_length_bad_then_400_at_once_naming_it(serve, value):
    server = serve()
    with connect(server) as sock:
        sock.sendall(post_head(value))
        started = time.monotonic()
        status, body = read_answer(sock)
    assert time.monotonic() - started < 5
    assert status == 400
    assert "Content-Length" in body["msg"]


def test_connection_when_idle_then_closed_after_the_idle_timeout(serve):
    server = serve(idle_timeout=0.5)
    with connect(server) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""  # the server hung up
        assert time.monotonic() - started < 8


def test_connection_when_request_stalls_half_way_then_closed(serve):
    server = serve(idle_timeout=0.5)
    with connect(server) as sock:
        sock.sendall(post_head("100") + b"only part")
        assert sock.recv(65536) == b""


def test_connections_when_more_than_the_bound_then_503_and_threads_bounded(serve):
    server = serve(max_connections=3, idle_timeout=30)
    before = threading.active_count()
    idle = [connect(server) for _ in range(3)]
    try:
        time.sleep(0.3)  # the three are accepted and each holds a thread
        refused = []
        for _ in range(20):
            with connect(server) as sock:
                sock.sendall(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
                refused.append(read_answer(sock))
        assert refused == [(503, {"code": -1008, "msg": refused[0][1]["msg"]})] * 20
        assert threading.active_count() <= before + 3
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 10
    while True:  # slots come back as the idle connections end
        with connect(server) as sock:
            sock.sendall(b"GET /api/v3/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _ = read_answer(sock)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200


def test_path_counter_when_many_distinct_paths_then_bounded_and_every_hit_counted():
    counter = PathCounter(most_keys=16, most_chars=50)
    for i in range(10_000):
        counter.count(f"GET /nowhere/{i}")
    counter.count("GET /" + "x" * 1000)
    assert len(counter) <= 16
    assert sum(counter.values()) == 10_001
    assert counter[PathCounter.OTHER] == 10_001 - 15


def test_api_stats_when_client_asks_for_many_paths_then_counters_bounded(serve):
    server = serve()
    api = server.api
    for i in range(2000):
        api.handle("GET", f"/api/v3/nothing-{i}", {})
    stats = api.stats()
    assert len(stats["hits"]) <= 256 and len(stats["unserved"]) <= 256
    assert sum(stats["unserved"].values()) == 2000
