"""order_matching's reactions to the instructor's simulation events against a real
database: a reset empties the books (in memory and in the database), a delisting
cancels the resting orders and rejects those still in flight.
(The matching rules themselves are tested in tests/unit/test_matching_rules.py.)"""

from __future__ import annotations

from decimal import Decimal

from order_matching.batch import Books
from order_matching.handlers import handlers
from service_runtime.contracts import (
    MarketStatusChanged,
    OrderApproved,
    SimulationReset,
    StockDelisted,
    StockListed,
)

SERVICE = "order_matching"
D = Decimal


def approved(order_id: int, user_id: int, side: str, qty: int, price: str, symbol: str = "ACME",
             tif: str = "day") -> OrderApproved:
    return OrderApproved(order_id=order_id, user_id=user_id, symbol=symbol, side=side, type="limit", qty=qty,
                         limit_price=D(price), time_in_force=tif, collar_price=None)


def opened(sdb) -> None:
    sdb.runner.deliver(StockListed(symbol="ACME", name="Acme", reference_price=D("10.00")),
                       MarketStatusChanged(status="open", previous="closed"))


def count(sdb, sql: str) -> int:
    return sdb.conn.execute(sql).fetchone()["n"]


def test_reset_empties_the_books_keeps_the_sequence_and_reopens(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "buy", 10, "10.00"), approved(2, 3, "sell", 4, "10.00"),
                   approved(3, 3, "sell", 5, "11.00"))
    assert count(service_db, "SELECT count(*) AS n FROM executions") == 1
    seq = handlers.state.books["ACME"].seq
    runner.deliver(MarketStatusChanged(status="halted", previous="open"))
    reset = runner.envelope(SimulationReset(epoch=2, requested_by=1), epoch=2)
    emitted = runner.deliver(reset)
    [book] = [e for e in emitted if e.type == "book.updated"]
    assert (book.epoch, book.event.bids, book.event.asks, book.event.seq) == (2, [], [], seq)
    assert runner.deliver(reset) == []
    assert count(service_db, "SELECT count(*) AS n FROM book_orders") == 0
    assert count(service_db, "SELECT count(*) AS n FROM executions") == 0
    assert len(handlers.state.books["ACME"]) == 0 and handlers.state.market == "open"
    # an approval of the old epoch is ignored; one of the new epoch trades at once
    assert runner.deliver(runner.envelope(approved(4, 2, "buy", 1, "12.00"), epoch=1)) == []
    runner.deliver(runner.envelope(approved(5, 3, "sell", 2, "10.00"), epoch=2))
    emitted = runner.deliver(runner.envelope(approved(6, 2, "buy", 2, "10.00"), epoch=2))
    [fill] = [e.event for e in emitted if e.type == "trade.executed"]
    assert (fill.buy_order_id, fill.sell_order_id, fill.qty, fill.seq) == (6, 5, 2, seq + 2)  # the sequence goes on
    # the books rebuilt from the database agree with the ones in memory
    handlers.state = Books.load(service_db.conn)
    assert len(handlers.state.books["ACME"]) == 0 and handlers.state.market == "open"


def test_delisting_cancels_resting_orders_and_rejects_orders_in_flight(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "buy", 10, "9.00"), approved(2, 3, "sell", 5, "11.00", tif="gtc"))
    emitted = runner.deliver(StockDelisted(symbol="ACME"))
    canceled = [(e.event.order_id, e.event.canceled_qty, e.event.reason) for e in emitted
                if e.type == "order.canceled"]
    assert canceled == [(1, 10, "delisted"), (2, 5, "delisted")]
    emitted = runner.deliver(approved(3, 2, "buy", 1, "9.00"))
    [rejected] = [e.event for e in emitted if e.type == "order.rejected"]
    assert (rejected.order_id, rejected.reason) == (3, "delisted")
    handlers.state = Books.load(service_db.conn)  # survives a restart
    assert "ACME" in handlers.state.delisted and len(handlers.state.books["ACME"]) == 0
    runner.deliver(StockListed(symbol="ACME", name="Acme", reference_price=D("10.00")))
    emitted = runner.deliver(approved(4, 2, "buy", 1, "9.00"))
    assert [e.type for e in emitted] == ["order.booked", "book.updated"]


def test_fills_carry_each_orders_cumulative_notional_and_it_survives_a_restart(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "sell", 10, "10.00"), approved(2, 4, "sell", 10, "10.50"))
    emitted = runner.deliver(approved(3, 3, "buy", 15, "10.50"))
    fills = [e.event for e in emitted if e.type == "trade.executed"]
    assert [(f.qty, f.buy_filled_notional, f.sell_filled_notional) for f in fills] == [
        (10, D("100.00"), D("100.00")), (5, D("152.50"), D("52.50"))]
    handlers.state = Books.load(service_db.conn)
    emitted = runner.deliver(approved(4, 5, "buy", 5, "10.50"))
    [fill] = [e.event for e in emitted if e.type == "trade.executed"]
    assert (fill.sell_order_id, fill.sell_filled_qty, fill.sell_filled_notional) == (2, 10, D("105.00"))
