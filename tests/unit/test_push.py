"""The gateway's push table: which event goes to which room, and only there, in the
JSON the browser receives."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service_runtime import catalog, contracts, jsonio
from service_runtime.contracts import (
    BookLevel,
    BookUpdated,
    LeaderboardRow,
    LeaderboardUpdated,
    MarketStatusChanged,
    OrderPlaced,
    PortfolioUpdated,
    PortfolioView,
    SettingsChanged,
    SimulationReset,
    StockDelisted,
    TradeExecuted,
)
from service_runtime.throttle import Throttle
from socket_gateway.executions import OrderTracker
from socket_gateway.push import (
    EVERYONE,
    INSTRUCTORS,
    PUSHES,
    TRADER_LEADERBOARD_ROWS,
    TRADERS,
    Push,
)

WHEN = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def pushes(event: contracts.Event, tracker: OrderTracker | None = None) -> list[Push]:
    envelope = contracts.wrap(event, event.PRODUCERS[0], 1, WHEN)
    return PUSHES.pushes_for(envelope, tracker or OrderTracker())


def wire(data: object) -> object:
    """What a browser receives (Socket.IO's JSON is service_runtime.jsonio)."""
    return json.loads(jsonio.dumps(data))


def test_the_gateway_consumes_exactly_what_its_push_table_lists():
    assert set(PUSHES.table) == {cls.TYPE for cls in catalog.consumed_by_gateway()}
    for cls in contracts.REGISTRY.values():  # every notice has a screen to go to
        assert not cls.NOTICE or cls.TYPE in PUSHES.table


def test_portfolios_go_only_to_their_owner_and_instructors():
    view = PortfolioView(7, "Ann", Decimal("1.00"), Decimal("0.00"), Decimal("1.00"), Decimal("1.00"),
                         Decimal("0.00"), Decimal("0.00"), [])
    [pf] = pushes(PortfolioUpdated(user_id=7, portfolio=view))
    assert (pf.event, pf.rooms) == ("portfolio", ("user:7", INSTRUCTORS))
    assert wire(pf.data) == {"user_id": 7, "name": "Ann", "cash": "1.00", "reserved_cash": "0.00",
                             "buying_power": "1.00", "equity": "1.00", "realized_pl": "0.00",
                             "unrealized_pl": "0.00", "positions": []}


def test_market_data_goes_to_the_symbol_room():
    trade = TradeExecuted(trade_id=1, seq=3, symbol="AAPL", price=Decimal("10.00"), qty=2, buy_order_id=1,
                          sell_order_id=2, buyer_id=3, seller_id=4, taker_side="buy", buy_filled_qty=2,
                          sell_filled_qty=2, buy_remaining=0, sell_remaining=0, executed_at=WHEN,
                          buy_filled_notional=Decimal("20.00"), sell_filled_notional=Decimal("20.00"))
    [tape] = pushes(trade)  # the tracker knows neither order: no execution report
    assert tape.rooms == ("sym:AAPL",)
    # The public tape does not say who traded.
    assert wire(tape.data) == {"seq": 3, "symbol": "AAPL", "price": "10.00", "qty": 2,
                               "ts": "2026-01-01T10:00:00+00:00", "trade_id": 1}
    [book] = pushes(BookUpdated("AAPL", 9, [BookLevel(Decimal("9.99"), 5, 2)], []))
    assert (book.event, book.rooms) == ("book", ("sym:AAPL",))
    assert wire(book.data) == {"symbol": "AAPL", "seq": 9, "bids": [{"price": "9.99", "qty": 5, "orders": 2}],
                               "asks": []}
    assert pushes(OrderPlaced(1, 7, "AAPL", "buy", "limit", 1, Decimal("1.00"), "day", None, WHEN)) == []


def test_simulation_pushes():
    [market] = pushes(MarketStatusChanged("open", "closed", WHEN))
    assert (market.event, market.rooms, wire(market.data)) == (
        "market", (EVERYONE,), {"status": "open", "previous": "closed", "closes_at": "2026-01-01T10:00:00+00:00"})
    [old] = pushes(MarketStatusChanged("halted", "open"))
    assert wire(old.data)["closes_at"] is None
    [settings] = pushes(SettingsChanged(Decimal("0.01"), None, 5))
    assert (settings.event, settings.rooms, wire(settings.data)) == (
        "settings", (EVERYONE,), {"commission_per_share": "0.01", "max_position": None, "max_order_qty": 5})
    [reset] = pushes(SimulationReset(epoch=4, requested_by=1))
    assert (reset.event, reset.rooms, reset.data) == ("reset", (EVERYONE,), {"epoch": 4})
    row = LeaderboardRow(1, 3, "Ann", "trader", Decimal("10.00"), Decimal("0.00"), Decimal("0.00"),
                         Decimal("0.00"), Decimal("10.00"), 0)
    [board, head] = pushes(LeaderboardUpdated([row]))
    assert (board.event, board.rooms, head.event, head.rooms) == ("leaderboard", (INSTRUCTORS,), "leaderboard", (TRADERS,))
    assert wire(board.data)[0]["equity"] == "10.00" and wire(board.data)[0]["user_id"] == 3
    assert wire(head.data) == wire(board.data)
    # a large class: the instructors get every row, each trader's screen the head of the board
    many = [dataclasses.replace(row, rank=n, user_id=n) for n in range(1, 5001)]
    board, head = pushes(LeaderboardUpdated(many))
    assert len(board.data) == 5000 and [r.user_id for r in head.data] == list(range(1, TRADER_LEADERBOARD_ROWS + 1))
    [gone] = pushes(StockDelisted("AAPL"))
    assert (gone.event, wire(gone.data)) == ("delisted", {"symbol": "AAPL"})


def test_the_leaderboard_throttle_sends_at_most_once_a_second_and_never_loses_the_last():
    t = Throttle(1.0)
    first, second, third = (Push("leaderboard", [n], (TRADERS,)) for n in range(3))
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
