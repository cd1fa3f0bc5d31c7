"""The Python client (papertrade_client) against a running exchange: every method,
typed answers with Decimal money, errors as PapertradeError, and idempotent retries."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal

import pytest

from papertrade_client import Client, Market, Order, OrderRequest, PapertradeError, User
from papertrade_client.types import parse
from tests.harness import INSTRUCTOR_PASSWORD

pytestmark = pytest.mark.stack


def client_for(stack, api) -> Client:  # noqa: ANN001 - harness objects
    """A Client with the token of a harness Api (a sandbox trader)."""
    token = api.session.headers["Authorization"].split(" ", 1)[1]
    c = Client(stack.url, token)
    c.user = parse(User, api.user)
    return c


def test_login_users_and_account_reads(stack, sandbox):
    sym = sandbox.symbol("40.00")
    trader = sandbox.trader("5000.00", {sym: 20})
    c = Client(stack.url)
    session = c.login(trader.user_id)
    assert session.user.id == trader.user_id and session.user.role == "trader" and c.token == session.token
    users = {u.id: u for u in c.users()}
    assert users[trader.user_id].name == trader.user["name"]
    assert users[stack.users["Instructor"]].role == "instructor"

    p = c.portfolio()
    assert (p.user_id, p.cash, p.reserved_cash, p.buying_power) == (
        trader.user_id, Decimal("5000.00"), Decimal("0.00"), Decimal("5000.00"))
    pos = p.position(sym)
    assert (pos.qty, pos.avg_cost, pos.last_price, pos.market_value) == (
        20, Decimal("40.0000"), Decimal("40.00"), Decimal("800.00"))
    assert p.equity == Decimal("5800.00")
    assert all(isinstance(v, Decimal) for v in (p.cash, p.equity, p.realized_pl, p.unrealized_pl))

    rows = c.leaderboard()
    mine = next(r for r in rows if r.user_id == trader.user_id)
    # return is measured against the starting equity (cash and granted shares at the reference price)
    assert mine.equity == Decimal("5800.00") and mine.return_pct == Decimal("0.00")
    assert len(c.leaderboard(limit=1)) == 1

    with pytest.raises(PapertradeError) as err:
        c.portfolio(stack.users["Alice"])
    assert (err.value.status, err.value.code) == (403, "forbidden")
    with pytest.raises(PapertradeError) as err:
        Client(stack.url).login(stack.users["Instructor"], "wrong")
    assert (err.value.status, err.value.code, err.value.field) == (401, "unauthorized", "password")
    with pytest.raises(PapertradeError) as err:
        Client(stack.url).portfolio(trader.user_id)
    assert err.value.status == 401


def test_instructor_creates_users_and_stocks_and_reads_market_data(stack, sandbox):
    boss = Client(stack.url)
    boss.login(stack.users["Instructor"], INSTRUCTOR_PASSWORD)
    sym = "C" + sandbox.symbol()[1:]
    stock = boss.list_stock(sym, "Client Test Inc.", "12.34")
    assert (stock.symbol, stock.reference_price, stock.last_price, stock.volume) == (
        sym, Decimal("12.34"), Decimal("12.34"), 0)
    with pytest.raises(PapertradeError) as err:
        boss.list_stock(sym, "Again", "1.00")
    assert (err.value.status, err.value.field) == (409, "symbol")
    user = boss.create_user(f"client-{sym}", starting_cash="2500.00", holdings={sym: 7})
    assert user.role == "trader" and user.starting_cash == Decimal("2500.00") and user.holdings == {sym: 7}

    anon = Client(stack.url)
    assert anon.stock(sym).name == "Client Test Inc."
    assert sym in {s.symbol for s in anon.stocks()}
    assert anon.candles(sym) == [] and anon.trades(sym, limit=5) == []
    with pytest.raises(PapertradeError) as err:
        anon.stock("NOPE0000")
    assert err.value.status == 404
    with pytest.raises(PapertradeError) as err:
        anon.candles(sym, interval="7m")
    assert (err.value.status, err.value.field) == (422, "interval")
    assert isinstance(anon.market(), Market) and anon.market().status == "open"


def test_orders_place_repeat_batch_list_get_cancel_book_and_market_data(stack, sandbox):
    sym = sandbox.symbol("30.00")
    buyer_api = sandbox.trader("10000.00")
    seller_api = sandbox.trader("0.00", {sym: 50})
    buyer, seller = client_for(stack, buyer_api), client_for(stack, seller_api)

    bid = buyer.place_order(sym, "buy", 10, "29.50", time_in_force="gtc")
    assert isinstance(bid, Order) and bid.created is True and bid.status == "pending_new"
    assert bid.limit_price == Decimal("29.50") and len(bid.client_order_id) == 32
    # The same client_order_id and body: the first order again (200), never a second one.
    again = buyer.place_order(sym, "buy", 10, "29.50", time_in_force="gtc", client_order_id=bid.client_order_id)
    assert (again.id, again.created) == (bid.id, False)
    with pytest.raises(PapertradeError) as err:
        buyer.place_order(sym, "buy", 11, "29.50", client_order_id=bid.client_order_id)
    assert (err.value.status, err.value.code, err.value.field) == (409, "duplicate_client_order_id",
                                                                    "client_order_id")
    assert buyer.wait_order(bid.id, "new").status == "new"

    results = buyer.place_orders([
        OrderRequest(sym, "buy", 5, Decimal("29.00")),
        {"symbol": sym, "side": "buy", "type": "limit", "qty": 0, "limit_price": "1.00"},
        OrderRequest(sym, "buy", 5, Decimal("28.00"), client_order_id="batch-third"),
    ])
    assert isinstance(results[0], Order) and results[0].limit_price == Decimal("29.00")
    assert isinstance(results[1], PapertradeError) and (results[1].status, results[1].field) == (422, "qty")
    assert isinstance(results[2], Order) and results[2].client_order_id == "batch-third"
    for o in (results[0], results[2]):
        buyer.wait_order(o.id, "new")

    book = Client(stack.url).book(sym)
    assert [(lvl.price, lvl.qty, lvl.orders) for lvl in book.bids] == [
        (Decimal("29.50"), 10, 1), (Decimal("29.00"), 5, 1), (Decimal("28.00"), 5, 1)]
    assert book.asks == [] and book.seq >= 3
    assert len(Client(stack.url).book(sym, levels=1).bids) == 1

    # A sell crosses the best bid: both fill at the resting price.
    sell = seller.place_order(sym, "sell", 10, "29.00")
    assert seller.wait_order(sell.id, "filled").filled_avg_price == Decimal("29.5000")
    filled = buyer.wait_order(bid.id, "filled")
    assert [h.status for h in filled.history][-1] == "filled"
    tape = Client(stack.url).trades(sym)
    assert [(t.price, t.qty) for t in tape] == [(Decimal("29.50"), 10)]
    candles = Client(stack.url).candles(sym, "1m", limit=10)
    assert [(k.open, k.close, k.volume) for k in candles] == [(Decimal("29.50"), Decimal("29.50"), 10)]
    assert Client(stack.url).stock(sym).last_price == Decimal("29.50")

    assert {o.id for o in buyer.orders(status="open", symbol=sym)} == {results[0].id, results[2].id}
    assert [o.id for o in buyer.orders(status="closed")] == [bid.id]
    assert len(buyer.orders(limit=1)) == 1

    one = buyer.cancel_order(results[0].id)
    assert one.status == "pending_cancel"
    assert buyer.wait_order(results[0].id, "canceled").status == "canceled"
    with pytest.raises(PapertradeError) as err:
        buyer.cancel_order(results[0].id)
    assert (err.value.status, err.value.code) == (409, "order_final")
    rest = buyer.cancel_all(symbol=sym)
    assert [o.id for o in rest] == [results[2].id]
    buyer.wait_order(results[2].id, "canceled")
    assert buyer.cancel_all() == []
    with pytest.raises(PapertradeError) as err:
        seller.order(bid.id)
    assert err.value.status == 403
    with pytest.raises(PapertradeError) as err:
        buyer.order(10**9)
    assert err.value.status == 404
    stack.wait_quiet()
    assert buyer.portfolio().cash == Decimal("9705.00") and buyer.portfolio().reserved_cash == Decimal("0.00")


def test_instructor_places_for_a_trader_and_changes_the_market(stack, sandbox):
    sym = sandbox.symbol("10.00")
    trader = sandbox.trader("1000.00")
    boss = Client(stack.url)
    boss.login(stack.users["Instructor"], INSTRUCTOR_PASSWORD)
    order = boss.place_order(sym, "buy", 3, "9.00", user_id=trader.user_id)
    assert order.user_id == trader.user_id
    assert [o.id for o in boss.orders(user_id=trader.user_id)] == [order.id]
    try:
        halted = boss.halt_market()
        assert (halted.status, halted.previous, halted.changed) == ("halted", "open", True)
        assert Client(stack.url).market().status == "halted"
        # The order door learns the status from market.status_changed; until then matching
        # rejects in-flight orders instead, so wait for the event before asserting the 409.
        stack.wait_quiet()
        with pytest.raises(PapertradeError) as err:
            client_for(stack, trader).place_order(sym, "buy", 1, "9.00")
        assert (err.value.status, err.value.code) == (409, "market_halted")
    finally:
        opened = boss.open_market()
    assert (opened.status, opened.previous) == ("open", "halted")
    boss.cancel_order(order.id)
    with pytest.raises(PapertradeError) as err:
        client_for(stack, trader).halt_market()
    assert err.value.status == 403


def _read_http_message(sock: socket.socket) -> bytes:
    """One HTTP/1.1 request or response with a Content-Length body (what requests and
    the gateway send here); b"" when the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class DroppingProxy:
    """A TCP proxy in front of the gateway that forwards everything, except that it
    lets the first `drop` requests containing `match` reach the server and then
    closes the client's connection before the answer: a lost response."""

    def __init__(self, upstream_port: int, match: bytes, drop: int = 1) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.match = match
        self.drop = drop
        self.dropped = 0
        self.lock = threading.Lock()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        up = socket.create_connection(self.upstream)
        try:
            while True:
                request = _read_http_message(client)
                if not request:
                    return
                up.sendall(request)
                with self.lock:
                    lose = self.match in request and self.dropped < self.drop
                    if lose:
                        self.dropped += 1
                answer = _read_http_message(up)  # the server has handled the request by now
                if lose or not answer:
                    return  # close without answering
                client.sendall(answer)
        except OSError:
            return
        finally:
            client.close()
            up.close()

    def close(self) -> None:
        self.server.close()


def test_a_retry_after_a_lost_answer_returns_the_first_order_not_a_second(stack, sandbox):
    sym = sandbox.symbol("20.00")
    trader = sandbox.trader("1000.00")
    proxy = DroppingProxy(stack.settings.port, b"POST /api/orders ")
    try:
        c = Client(f"http://127.0.0.1:{proxy.port}", retries=3, backoff=0.05)
        c.login(trader.user_id)
        order = c.place_order(sym, "buy", 2, "19.00")
        assert proxy.dropped == 1 and c.retried == 1
        assert order.created is False  # the retry got the order the lost request had placed
        mine = Client(stack.url, c.token).orders(symbol=sym)
        assert [(o.id, o.client_order_id) for o in mine] == [(order.id, order.client_order_id)]

        # The same for a batch: every item carries a client_order_id, so the retried
        # batch places nothing twice.
        proxy.match, proxy.drop = b"POST /api/orders/batch", 2
        results = c.place_orders([OrderRequest(sym, "buy", 1, Decimal("18.00")),
                                  OrderRequest(sym, "buy", 1, Decimal("17.00"))])
        assert proxy.dropped == 2 and all(isinstance(r, Order) for r in results)
        mine = Client(stack.url, c.token).orders(symbol=sym)
        assert sorted(o.limit_price for o in mine) == [Decimal("17.00"), Decimal("18.00"), Decimal("19.00")]
    finally:
        proxy.close()


def test_without_retries_a_lost_answer_is_a_connection_error(stack, sandbox):
    trader = sandbox.trader("1000.00")
    sym = sandbox.symbol("20.00")
    proxy = DroppingProxy(stack.settings.port, b"POST /api/orders ")
    try:
        c = Client(f"http://127.0.0.1:{proxy.port}", retries=0)
        c.login(trader.user_id)
        with pytest.raises(PapertradeError) as err:
            c.place_order(sym, "buy", 1, "19.00", client_order_id="lost-once")
        assert (err.value.status, err.value.code) == (None, "connection_error")
        # the order exists all the same; placing it again returns it
        assert c.place_order(sym, "buy", 1, "19.00", client_order_id="lost-once").created is False
    finally:
        proxy.close()
    with pytest.raises(PapertradeError) as err:
        Client("http://127.0.0.1:9", retries=1, backoff=0.01).stocks()
    assert err.value.code == "connection_error"


def test_stream_delivers_order_portfolio_price_trade_book_and_market_pushes(stack, sandbox):
    sym = sandbox.symbol("15.00")
    buyer_api = sandbox.trader("1000.00")
    seller_api = sandbox.trader("0.00", {sym: 10})
    buyer, seller = client_for(stack, buyer_api), client_for(stack, seller_api)
    seen: list[str] = []
    with buyer.stream(transports=["websocket"]) as stream:
        stream.on("*", lambda ev: seen.append(ev.name))
        assert stream.subscribe([sym, "bad symbol"]) == [sym]
        bid = buyer.place_order(sym, "buy", 4, "15.10")
        first = stream.wait_for("order", lambda ev: ev.data.id == bid.id)
        assert first.data.user_id == buyer.user_id and first.data.limit_price == Decimal("15.10")
        book = stream.wait_for("book", lambda ev: ev.data.symbol == sym and ev.data.bids)
        assert (book.data.bids[0].price, book.data.bids[0].qty) == (Decimal("15.10"), 4)
        seller.place_order(sym, "sell", 4, "15.00")
        trade = stream.wait_for("trade", lambda ev: ev.data.symbol == sym)
        assert (trade.data.price, trade.data.qty) == (Decimal("15.10"), 4)
        price = stream.wait_for("price", lambda ev: ev.data.symbol == sym)
        assert price.data.last_price == Decimal("15.10")
        filled = stream.wait_for("order", lambda ev: ev.data.id == bid.id and ev.data.status == "filled")
        assert filled.data.filled_avg_price == Decimal("15.1000")
        portfolio = stream.wait_for("portfolio", lambda ev: ev.data.cash == Decimal("939.60"))
        assert portfolio.data.user_id == buyer.user_id
        boss = Client(stack.url)
        boss.login(stack.users["Instructor"], INSTRUCTOR_PASSWORD)
        try:
            boss.halt_market()
            assert stream.wait_for("market", lambda ev: ev.data.status == "halted").data.status == "halted"
        finally:
            boss.open_market()
        assert stream.wait_for("market", lambda ev: ev.data.status == "open").name == "market"
    assert {"order", "book", "trade", "price", "portfolio", "market"} <= set(seen)
