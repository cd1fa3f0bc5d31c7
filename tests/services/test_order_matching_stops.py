"""order_matching's stops against a real database: held out of the book and its depth,
triggered by the trade that reaches them in the same batch, survivors of a restart (the
stops and the last trade price are rebuilt from the tables), canceled, expired at the
close, waiting through a halt, and applied once whatever is redelivered. (The trigger
rules themselves are the table in tests/unit/test_matching_rules.py.)"""

from __future__ import annotations

from decimal import Decimal

from order_matching.batch import Books
from order_matching.handlers import handlers
from service_runtime.contracts import MarketStatusChanged, OrderApproved, OrderCancelRequested, StockDelisted
from tests.services.test_order_matching import approved, count, opened

SERVICE = "order_matching"
D = Decimal


def stop(order_id: int, user_id: int, side: str, qty: int, stop_price: str, limit: str | None = None,
         tif: str = "day", collar: str | None = None) -> OrderApproved:
    return OrderApproved(order_id=order_id, user_id=user_id, symbol="ACME", side=side,
                         type="stop_limit" if limit else "stop", qty=qty, limit_price=D(limit) if limit else None,
                         time_in_force=tif, collar_price=D(collar) if collar else None, stop_price=D(stop_price))


def kinds(emitted) -> list[tuple]:
    out = []
    for e in emitted:
        if e.type == "order.triggered":
            out.append(("triggered", e.event.order_id, str(e.event.price)))
        elif e.type == "trade.executed":
            out.append(("trade", e.event.buy_order_id, e.event.sell_order_id, e.event.qty, str(e.event.price)))
        elif e.type == "order.booked":
            out.append(("booked", e.event.order_id, e.event.triggered))
        elif e.type in ("order.canceled", "order.expired"):
            out.append((e.type.split(".")[1], e.event.order_id))
    return out


def test_a_stop_loss_waits_out_of_the_book_and_triggers_in_the_batch_of_the_trade_that_reaches_it(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "buy", 5, "9.50"), approved(2, 2, "buy", 5, "9.00"))
    emitted = runner.deliver(stop(10, 3, "sell", 4, "9.60", collar="8.50"))
    assert kinds(emitted) == [("booked", 10, False)]
    assert handlers.state.books["ACME"].depth() == ([(D("9.50"), 5, 1), (D("9.00"), 5, 1)], [])  # not an ask
    assert count(service_db, "SELECT count(*) AS n FROM book_orders WHERE status = 'waiting'") == 1
    # another trader's sale at 9.50 reaches the stop: it sells at market in the same batch
    sale = runner.envelope(approved(20, 4, "sell", 1, "9.50"))
    emitted = runner.deliver(sale)
    assert kinds(emitted) == [("trade", 1, 20, 1, "9.50"), ("triggered", 10, "9.50"), ("trade", 1, 10, 4, "9.50")]
    assert count(service_db, "SELECT count(*) AS n FROM book_orders WHERE status = 'waiting'") == 0
    row = service_db.conn.execute("SELECT type, triggered, status, outcome FROM book_orders WHERE order_id = 10"
                                  ).fetchone()
    assert (row["type"], row["triggered"], row["status"], row["outcome"]) == ("market", True, "done", "filled")
    # redelivered, the triggering order changes nothing (and triggers nothing twice)
    assert runner.deliver(sale) == []
    assert count(service_db, "SELECT count(*) AS n FROM executions") == 2


def test_stops_and_the_last_price_survive_a_restart(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "sell", 1, "10.00"), approved(2, 3, "buy", 1, "10.00"))  # last 10.00
    runner.deliver(stop(10, 4, "buy", 2, "10.50", "10.60", tif="gtc"), approved(3, 2, "sell", 5, "10.60"))
    handlers.state = Books.load(service_db.conn)  # a restart
    assert handlers.state.last_prices["ACME"] == D("10.00")
    assert [o.order_id for o in handlers.state.stops["ACME"].orders()] == [10]
    assert 10 not in handlers.state.books["ACME"]
    # a buy stop arriving already through the last price triggers at once
    # at 10.60, and that trade reaches the waiting stop at 10.50 in the same batch
    emitted = runner.deliver(stop(11, 5, "buy", 1, "9.00", collar="11.00"))
    assert kinds(emitted) == [("triggered", 11, "10.00"), ("trade", 11, 3, 1, "10.60"), ("triggered", 10, "10.60"),
                              ("trade", 10, 3, 2, "10.60")]
    handlers.state = Books.load(service_db.conn)
    assert handlers.state.last_prices["ACME"] == D("10.60") and len(handlers.state.stops["ACME"]) == 0


def test_cancel_expiry_and_a_halt(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "buy", 5, "9.00"), approved(2, 2, "sell", 5, "11.00", tif="gtc"))
    runner.deliver(stop(10, 3, "sell", 1, "9.50", collar="8.00"), stop(11, 3, "sell", 1, "9.40", collar="8.00",
                                                                        tif="gtc"),
                   stop(12, 4, "buy", 1, "10.50", "10.80"))
    # canceled before it triggers: released at once, and gone for good
    emitted = runner.deliver(OrderCancelRequested(order_id=12, user_id=4, symbol="ACME"))
    assert kinds(emitted) == [("canceled", 12)]
    # a halt: nothing matches, so nothing triggers; reopened, the first trade triggers what it reached
    runner.deliver(MarketStatusChanged(status="halted", previous="open"))
    emitted = runner.deliver(approved(20, 5, "sell", 1, "9.00"))
    assert [e.type for e in emitted] == ["order.rejected"]
    assert len(handlers.state.stops["ACME"]) == 2
    runner.deliver(MarketStatusChanged(status="open", previous="halted"))
    emitted = runner.deliver(approved(21, 5, "sell", 1, "9.00"))
    assert kinds(emitted)[:3] == [("trade", 1, 21, 1, "9.00"), ("triggered", 10, "9.00"), ("trade", 1, 10, 1, "9.00")]
    assert ("triggered", 11, "9.00") in kinds(emitted)
    # the close expires day stops; gtc ones stay
    runner.deliver(stop(13, 3, "sell", 1, "5.00", collar="4.00"), stop(14, 3, "sell", 1, "5.00", collar="4.00",
                                                                       tif="gtc"))
    emitted = runner.deliver(MarketStatusChanged(status="closed", previous="open"))
    assert ("expired", 13) in kinds(emitted) and ("expired", 14) not in kinds(emitted)
    handlers.state = Books.load(service_db.conn)
    assert [o.order_id for o in handlers.state.stops["ACME"].orders()] == [14]


# -- replace ----------------------------------------------------------------------


def replacing(order_id: int, old: int, filled: int, user_id: int, side: str, qty: int, price: str,
              tif: str = "day") -> OrderApproved:
    return OrderApproved(order_id=order_id, user_id=user_id, symbol="ACME", side=side, type="limit", qty=qty,
                         limit_price=D(price), time_in_force=tif, collar_price=None, replaces=old,
                         replaces_filled_qty=filled)


def test_a_replace_swaps_the_orders_in_one_step_and_loses_time_priority(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "buy", 10, "9.00"), approved(2, 3, "buy", 5, "9.00"))
    emitted = runner.deliver(replacing(3, 1, 0, 2, "buy", 8, "9.00"))
    assert [e.type for e in emitted if e.type.startswith("order.")] == ["order.replaced", "order.booked"]
    [swap] = [e.event for e in emitted if e.type == "order.replaced"]
    assert (swap.order_id, swap.replaced_by, swap.filled_qty) == (1, 3, 0)
    book = handlers.state.books["ACME"]
    assert 1 not in book and book.depth()[0] == [(D("9.00"), 13, 2)]
    # the replacement queues behind order 2, which came after the order it replaced
    emitted = runner.deliver(approved(4, 4, "sell", 6, "9.00"))
    assert [(e.event.buy_order_id, e.event.qty) for e in emitted if e.type == "trade.executed"] == [(2, 5), (3, 1)]
    handlers.state = Books.load(service_db.conn)
    assert handlers.state.books["ACME"].get(3).remaining == 7 and 1 not in handlers.state.books["ACME"]
    row = service_db.conn.execute("SELECT status, outcome FROM book_orders WHERE order_id = 1").fetchone()
    assert (row["status"], row["outcome"]) == ("done", "replaced")


def test_a_replace_that_lost_the_race_with_a_fill_is_refused_and_the_old_order_goes_on(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "sell", 10, "10.00"), approved(2, 3, "buy", 4, "10.00"))  # order 1: 4 filled
    emitted = runner.deliver(replacing(3, 1, 0, 2, "sell", 10, "10.50"))  # asked for when it had none filled
    [refused] = [e.event for e in emitted if e.type == "order.rejected"]
    assert (refused.order_id, refused.reason) == (3, "replace_failed")
    assert handlers.state.books["ACME"].get(1).remaining == 6
    # a replace of a filled (gone) order is refused too, and so is one for another user's order
    runner.deliver(approved(4, 3, "buy", 6, "10.00"))
    assert [e.event.reason for e in runner.deliver(replacing(5, 1, 4, 2, "sell", 6, "10.50"))
            if e.type == "order.rejected"] == ["replace_failed"]
    runner.deliver(approved(6, 2, "sell", 1, "11.00"))
    assert [e.event.reason for e in runner.deliver(replacing(7, 6, 0, 9, "sell", 1, "11.50"))
            if e.type == "order.rejected"] == ["replace_failed"]
    # redelivered, a replace changes nothing the second time
    swap = runner.envelope(replacing(8, 6, 0, 2, "sell", 1, "11.50"))
    assert [e.type for e in runner.deliver(swap) if e.type.startswith("order.")] == ["order.replaced",
                                                                                      "order.booked"]
    assert runner.deliver(swap) == []


def test_a_delisting_cancels_the_waiting_stops_too(service_db):
    opened(service_db)
    runner = service_db.runner
    runner.deliver(approved(1, 2, "buy", 5, "9.00"), stop(10, 3, "sell", 1, "8.00", collar="7.00", tif="gtc"),
                   stop(11, 4, "buy", 2, "12.00", "12.50"))
    emitted = runner.deliver(StockDelisted(symbol="ACME"))
    assert sorted(k for k in kinds(emitted) if k[0] == "canceled") == [("canceled", 1), ("canceled", 10),
                                                                       ("canceled", 11)]
    assert [e.event.reason for e in emitted if e.type == "order.canceled"] == ["delisted"] * 3
    handlers.state = Books.load(service_db.conn)
    assert len(handlers.state.stops["ACME"]) == 0
