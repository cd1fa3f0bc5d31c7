"""The Socket.IO gateway with a real broker and python-socketio clients: the
right pushes reach the right clients, and nobody else's."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

import pytest
import socketio

pytestmark = pytest.mark.stack

EVENTS = ("order", "portfolio", "price", "trade", "book", "market", "stock")


class Listener:
    """A socket client that records every push it receives."""

    def __init__(self, url: str, token: str | None = None, transport: str = "websocket") -> None:
        self.got: dict[str, list[Any]] = defaultdict(list)
        self.connects = 0
        self.lock = threading.Lock()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        for name in EVENTS:
            self.sio.on(name, self._recorder(name))
        self.sio.on("connect", self._on_connect)
        self.url = url
        self.token = token
        self.sio.connect(url, auth={"token": token} if token else None, transports=[transport],
                         wait_timeout=10)
        self.symbols: list[str] = []

    def _on_connect(self) -> None:
        self.connects += 1
        if getattr(self, "symbols", None):
            self.sio.emit("subscribe", {"symbols": self.symbols})

    def _recorder(self, name: str):
        def record(data: Any) -> None:
            with self.lock:
                self.got[name].append(data)
        return record

    def subscribe(self, *symbols: str) -> dict:
        self.symbols = list(symbols)
        return self.sio.call("subscribe", {"symbols": list(symbols)}, timeout=10)

    def wait_for(self, name: str, predicate=lambda d: True, timeout: float = 15.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for item in self.got[name]:
                    if predicate(item):
                        return item
            time.sleep(0.02)
        raise AssertionError(f"no {name!r} push matching; got {dict(self.got)}")

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture
def listeners():
    made: list[Listener] = []

    def make(*args: Any, **kwargs: Any) -> Listener:
        listener = Listener(*args, **kwargs)
        made.append(listener)
        return listener

    yield make
    for listener in made:
        listener.close()


def everything_pushed(sandbox, *listening: Listener) -> None:
    """Wait until every push sent so far has reached each listener: list a marker stock
    (pushed to everyone) and wait for it. The gateway pushes in its queue's order and
    each client's pushes travel in order, so nothing sent earlier is still on its way."""
    marker = sandbox.symbol("1.00")
    for listener in listening:
        listener.wait_for("stock", lambda s: s["symbol"] == marker)


def token_of(api) -> str:
    return api.session.headers["Authorization"].split(" ", 1)[1]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_each_user_gets_their_own_orders_and_portfolio_and_never_anothers(stack, sandbox, listeners, transport):
    sym = sandbox.symbol("10.00")
    alice, bob, carol = sandbox.trader(), sandbox.trader("0.00", {sym: 10}), sandbox.trader()
    la = listeners(stack.url, token_of(alice), transport)
    lb = listeners(stack.url, token_of(bob), transport)
    lc = listeners(stack.url, token_of(carol), transport)
    anon = listeners(stack.url, None, transport)
    teacher = listeners(stack.url, token_of(stack.instructor()), transport)

    buy = alice.order(sym, "buy", 10, "10.00")
    alice.wait_order(buy["id"], "new")
    sell = bob.order(sym, "sell", 10, "10.00")
    filled = la.wait_for("order", lambda o: o["id"] == buy["id"] and o["status"] == "filled")
    assert filled["user_id"] == alice.user_id and filled["filled_avg_price"] == "10.0000"
    lb.wait_for("order", lambda o: o["id"] == sell["id"] and o["status"] == "filled")
    pa = la.wait_for("portfolio", lambda p: p["cash"] == "9900.00")
    assert pa["user_id"] == alice.user_id
    lb.wait_for("portfolio", lambda p: p["cash"] == "100.00")
    teacher.wait_for("order", lambda o: o["id"] == sell["id"] and o["status"] == "filled")
    stack.wait_quiet()
    everything_pushed(sandbox, la, lb, lc, anon)
    assert {o["user_id"] for o in la.got["order"]} == {alice.user_id}
    assert {p["user_id"] for p in la.got["portfolio"]} == {alice.user_id}
    assert {o["user_id"] for o in lb.got["order"]} == {bob.user_id}
    assert lc.got["order"] == [] and lc.got["portfolio"] == []
    assert anon.got["order"] == [] and anon.got["portfolio"] == []


def test_each_fill_reaches_the_owner_straight_from_the_trade_and_only_once(stack, sandbox, listeners):
    """`order` pushes for fills are execution reports derived from the trade itself
    (stamped with the trade's time), before stock_ordering's own update, which is not
    pushed again when it says nothing new; REST agrees once that update lands."""
    sym = sandbox.symbol("10.00")
    buyer, seller = sandbox.trader(), sandbox.trader("0.00", {sym: 10})
    other_tab = listeners(stack.url, token_of(buyer))
    seller_tab = listeners(stack.url, token_of(seller))
    tape = listeners(stack.url)
    tape.subscribe(sym)

    buy = buyer.order(sym, "buy", 10, "10.00", client_order_id="tab-1")
    booked = other_tab.wait_for("order", lambda o: o["id"] == buy["id"] and o["status"] == "new")
    assert (booked["client_order_id"], booked["filled_qty"]) == ("tab-1", 0)
    seller.order(sym, "sell", 4, "9.99")
    seller.order(sym, "sell", 6, "10.00")
    first, second = tape.wait_for("trade"), tape.wait_for("trade", lambda t: t["qty"] == 6)
    partial = other_tab.wait_for("order", lambda o: o["id"] == buy["id"] and o["updated_at"] == first["ts"])
    assert (partial["status"], partial["filled_qty"], partial["filled_avg_price"], partial["client_order_id"]) == (
        "partially_filled", 4, "10.0000", "tab-1")
    filled = other_tab.wait_for("order", lambda o: o["id"] == buy["id"] and o["updated_at"] == second["ts"])
    assert (filled["status"], filled["filled_qty"], filled["filled_avg_price"]) == ("filled", 10, "10.0000")
    seller_tab.wait_for("order", lambda o: o["status"] == "filled" and o["updated_at"] == second["ts"])
    # stock_ordering's record ends where the execution reports said it would ...
    final = buyer.wait_order(buy["id"], "filled")
    assert (final["filled_qty"], final["filled_avg_price"]) == (10, "10.0000")
    stack.wait_quiet()
    everything_pushed(sandbox, other_tab)
    # ... and its updates that only repeat a report were not pushed a second time.
    with other_tab.lock:
        fills = [(o["status"], o["filled_qty"]) for o in other_tab.got["order"] if o["id"] == buy["id"]]
    assert fills.count(("filled", 10)) == 1 and fills.count(("partially_filled", 4)) <= 1


def test_symbol_rooms_get_price_trade_and_book_and_anonymous_clients_may_watch(stack, sandbox, listeners):
    sym, other = sandbox.symbol("20.00"), sandbox.symbol("30.00")
    buyer, seller = sandbox.trader(), sandbox.trader("0.00", {sym: 5})
    watcher = listeners(stack.url)
    assert watcher.subscribe(sym) == {"subscribed": [sym]}
    elsewhere = listeners(stack.url)
    elsewhere.subscribe(other)

    bid = buyer.order(sym, "buy", 5, "20.00")
    book = watcher.wait_for("book", lambda b: b["bids"])
    assert book["symbol"] == sym and book["bids"] == [{"price": "20.00", "qty": 5, "orders": 1}]
    buyer.wait_order(bid["id"], "new")
    seller.order(sym, "sell", 5, "19.00")
    trade = watcher.wait_for("trade")
    assert (trade["symbol"], trade["price"], trade["qty"]) == (sym, "20.00", 5)
    price = watcher.wait_for("price")
    assert (price["symbol"], price["last_price"], price["volume"]) == (sym, "20.00", 5)
    later = watcher.wait_for("book", lambda b: b["seq"] > book["seq"] and not b["bids"])
    assert later["asks"] == []
    everything_pushed(sandbox, watcher, elsewhere)
    assert elsewhere.got["trade"] == [] and elsewhere.got["price"] == [] and elsewhere.got["book"] == []
    assert watcher.got["order"] == [] and watcher.got["portfolio"] == []


def test_a_forged_token_is_refused(stack):
    forged = stack.login("Alice")
    token = token_of(forged)
    bad = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.url, auth={"token": bad}, transports=["websocket"], wait_timeout=5)
    assert not client.connected


def test_subscribe_refuses_bad_input(stack, listeners):
    client = listeners(stack.url)
    assert "error" in client.sio.call("subscribe", {"symbols": "AAPL"}, timeout=5)
    assert client.sio.call("subscribe", {"symbols": ["AAPL", "bad symbol", 5]}, timeout=5) == {"subscribed": ["AAPL"]}


def test_clients_reconnect_after_a_gateway_restart(stack, sandbox, listeners):
    sym = sandbox.symbol("40.00")
    alice = sandbox.trader()
    client = listeners(stack.url, token_of(alice))
    client.subscribe(sym)
    stack.kill("gateway")
    stack.restart("gateway")
    deadline = time.monotonic() + 20
    while client.connects < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.connects >= 2 and client.sio.connected
    # The gateway's fresh queue is bound before it reports healthy; give the feed a moment.
    order = alice.order(sym, "buy", 1, "40.00")
    client.wait_for("order", lambda o: o["id"] == order["id"] and o["status"] == "new", timeout=20)
    client.wait_for("book", lambda b: b["symbol"] == sym and b["bids"])
