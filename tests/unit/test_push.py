"""The gateway's push table: which event goes to which room, and only there."""

from __future__ import annotations

import pytest

from service_runtime import contracts
from service_runtime.throttle import Throttle
from socket_gateway.push import AUTHENTICATED, EVERYONE, INSTRUCTORS, PUSHES, Push, pushes_for


def test_the_push_table_covers_exactly_what_the_gateway_consumes():
    assert set(PUSHES) == {cls.TYPE for cls in contracts.consumed_by(contracts.GATEWAY)}


def test_orders_and_portfolios_go_only_to_their_owner_and_instructors():
    [order] = pushes_for("order.updated", {"order_id": 5, "user_id": 7, "order": {"id": 5, "user_id": 7}})
    assert (order.event, order.rooms, order.data) == ("order", ("user:7", INSTRUCTORS), {"id": 5, "user_id": 7})
    [pf] = pushes_for("portfolio.updated", {"user_id": 7, "portfolio": {"cash": "1.00"}})
    assert (pf.event, pf.rooms, pf.data) == ("portfolio", ("user:7", INSTRUCTORS), {"cash": "1.00", "user_id": 7})


def test_market_data_goes_to_the_symbol_room():
    [trade] = pushes_for("trade.executed", {
        "trade_id": 1, "seq": 3, "symbol": "AAPL", "price": "10.00", "qty": 2, "executed_at": "t",
        "buy_order_id": 1, "sell_order_id": 2, "buyer_id": 3, "seller_id": 4,
    })
    assert trade.rooms == ("sym:AAPL",)
    # The public tape does not say who traded.
    assert trade.data == {"seq": 3, "symbol": "AAPL", "price": "10.00", "qty": 2, "ts": "t", "trade_id": 1}
    [book] = pushes_for("book.updated", {"symbol": "AAPL", "seq": 9, "bids": [], "asks": []})
    assert (book.event, book.rooms, book.data["seq"]) == ("book", ("sym:AAPL",), 9)
    assert pushes_for("order.placed", {"order_id": 1}) == []


def test_simulation_pushes():
    [market] = pushes_for("market.status_changed", {"status": "open", "previous": "closed",
                                                    "closes_at": "2026-01-01T10:00:00+00:00"})
    assert (market.event, market.rooms, market.data) == (
        "market", (EVERYONE,), {"status": "open", "previous": "closed", "closes_at": "2026-01-01T10:00:00+00:00"})
    [old] = pushes_for("market.status_changed", {"status": "halted", "previous": "open"})
    assert old.data["closes_at"] is None
    [settings] = pushes_for("settings.changed", {"commission_per_share": "0.01", "max_position": None,
                                                 "max_order_qty": 5})
    assert (settings.event, settings.rooms, settings.data) == (
        "settings", (EVERYONE,), {"commission_per_share": "0.01", "max_position": None, "max_order_qty": 5})
    [reset] = pushes_for("simulation.reset", {"epoch": 4, "requested_by": 1})
    assert (reset.event, reset.rooms, reset.data) == ("reset", (EVERYONE,), {"epoch": 4})
    [board] = pushes_for("leaderboard.updated", {"rows": [{"user_id": 1}]})
    assert (board.event, board.rooms, board.data) == ("leaderboard", (AUTHENTICATED,), [{"user_id": 1}])
    [gone] = pushes_for("stock.delisted", {"symbol": "AAPL"})
    assert (gone.event, gone.data) == ("delisted", {"symbol": "AAPL"})


def test_the_leaderboard_throttle_sends_at_most_once_a_second_and_never_loses_the_last():
    t = Throttle(1.0)
    first, second, third = (Push("leaderboard", [n], (AUTHENTICATED,)) for n in range(3))
    assert t.offer(first, now=10.0) == (first, None)  # the first goes at once
    assert t.offer(second, now=10.2) == (None, pytest.approx(0.8))  # too soon: held, due in 0.8 s
    assert t.offer(third, now=10.5) == (None, None)  # replaces the held one; already scheduled
    assert t.due(now=11.0) is third  # only the newest is sent
    assert t.offer(first, now=11.5) == (None, pytest.approx(0.5))
    assert t.due(now=12.0) is first
    assert t.due(now=12.1) is None  # nothing held
    assert t.offer(second, now=13.5) == (second, None)


def test_the_proxy_resends_on_a_fresh_connection_when_a_pooled_one_was_closed():
    """A service closing idle kept-alive connections must never surface as a 503."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from service_runtime.config import Settings
    from socket_gateway.proxy import ApiProxy

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 0.05  # a kept-alive connection idle this long is closed by the server

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        proxy = ApiProxy(Settings(service_urls={"order_matching": url}))
        upstream = proxy.upstreams["order_matching"]
        for _ in range(3):
            # Pretend the previous response left a kept-alive connection in the pool.
            first, _ = upstream.connection(fresh=True)
            first.connect()
            upstream.give_back(first)
            second, _ = upstream.connection(fresh=True)
            second.connect()
            upstream.give_back(second)
            time.sleep(0.3)  # both pooled connections are now closed by the server
            server_closed = proxy._forward("order_matching", "GET", "/api/books/AAPL", b"", {})
            assert server_closed[0] == 200 and server_closed[3] == b'{"ok": true}'
    finally:
        server.shutdown()
