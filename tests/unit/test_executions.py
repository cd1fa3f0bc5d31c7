"""Execution reports: the gateway follows each order through the events about it, each
carrying the order's cumulative state, so it pushes what stock_ordering records from the
same events, and never moves an order backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from service_runtime import contracts
from service_runtime.money import avg_price
from socket_gateway.executions import OrderTracker
from socket_gateway.push import INSTRUCTORS, PUSHES

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1, microseconds=123)


def placed(order_id: int, user_id: int, side: str, qty: int) -> contracts.OrderPlaced:
    return contracts.OrderPlaced(order_id, user_id, "AAPL", side, "limit", qty, Decimal("10.00"), "day", f"c{order_id}", T0)


def trade(buy_id: int, sell_id: int, price: str, qty: int, buy: tuple[int, str], sell: tuple[int, str],
          trade_id: int = 1) -> contracts.TradeExecuted:
    """`buy`/`sell`: each order's cumulative (filled qty, filled notional) after this fill."""
    return contracts.TradeExecuted(
        trade_id=trade_id, seq=trade_id, symbol="AAPL", price=Decimal(price), qty=qty, buy_order_id=buy_id,
        sell_order_id=sell_id, buyer_id=7, seller_id=8, taker_side="buy", buy_filled_qty=buy[0],
        sell_filled_qty=sell[0], buy_remaining=0, sell_remaining=0, executed_at=T1,
        buy_filled_notional=Decimal(buy[1]), sell_filled_notional=Decimal(sell[1]),
    )


def pushes(event: contracts.Event, tracker: OrderTracker) -> list:
    return PUSHES.pushes_for(contracts.wrap(event, event.PRODUCERS[0], 1, T1), tracker)


def test_a_trade_reports_both_orders_with_their_new_fill_and_average():
    tracker = OrderTracker()
    tracker.placed(placed(1, 7, "buy", 100))
    tracker.placed(placed(2, 8, "sell", 30))
    buy, sell = tracker.trade(trade(1, 2, "10.01", 30, (30, "300.30"), (30, "300.30")))
    assert (buy["id"], buy["status"], buy["filled_qty"], buy["filled_avg_price"]) == (1, "partially_filled", 30, "10.0100")
    assert (sell["id"], sell["status"], sell["filled_qty"], sell["filled_avg_price"]) == (2, "filled", 30, "10.0100")
    assert buy["updated_at"] == "2026-11-22T08:00:01.000123+00:00"
    assert (buy["client_order_id"], buy["created_at"]) == ("c1", "2026-11-22T08:00:00+00:00")
    # The filled order is forgotten; the open one remembers its fills.
    assert len(tracker) == 1
    [buy] = tracker.trade(trade(1, 3, "10.02", 70, (100, "1001.70"), (70, "701.40"), trade_id=2))
    assert (buy["status"], buy["filled_qty"]) == ("filled", 100)
    # (30 x 10.01 + 70 x 10.02) / 100 = 10.017, the same rule stock_ordering uses
    assert buy["filled_avg_price"] == "10.0170" == format(avg_price(100, Decimal("1001.70")), "f")
    assert len(tracker) == 0


def test_reports_arriving_late_or_twice_never_move_an_order_backwards():
    tracker = OrderTracker()
    assert tracker.trade(trade(1, 2, "10.00", 5, (5, "50.00"), (5, "50.00"))) == []  # unknown order
    tracker.placed(placed(1, 7, "buy", 100))
    later = trade(1, 2, "10.00", 5, (15, "150.00"), (5, "50.00"), trade_id=2)
    [report] = tracker.trade(later)  # cumulative: a fill we missed is in it
    assert (report["filled_qty"], report["filled_avg_price"]) == (15, "10.0000")
    earlier = trade(1, 2, "10.00", 10, (10, "100.00"), (10, "100.00"), trade_id=1)
    assert tracker.trade(earlier) == []  # older than what the owner has
    assert tracker.trade(later) == []  # the same report twice shows nothing new
    booked = tracker.booked(contracts.OrderBooked(1, 7, "AAPL", 10, 90, 3, Decimal("100.00")), T1)
    assert booked is None  # an old booking after the fills


def test_booking_cancel_request_and_cancel_move_the_status():
    tracker = OrderTracker()
    tracker.placed(placed(1, 7, "buy", 10))
    booked = tracker.booked(contracts.OrderBooked(1, 7, "AAPL", 0, 10, 3, Decimal("0")), T1)
    assert booked is not None and booked["status"] == "new"
    asked = tracker.cancel_requested(contracts.OrderCancelRequested(1, 7, "AAPL"), T1)
    assert asked is not None and asked["status"] == "pending_cancel"
    [report] = tracker.trade(trade(1, 2, "10.00", 4, (4, "40.00"), (4, "40.00")))
    assert report["status"] == "pending_cancel"  # a fill while the cancel is on its way
    done = tracker.canceled(contracts.OrderCanceled(1, 7, "AAPL", 4, 6, "canceled by user", Decimal("40.00")), T1)
    assert done is not None and (done["status"], done["filled_qty"], done["filled_avg_price"]) == (
        "canceled", 4, "10.0000")
    assert len(tracker) == 0


def test_a_cancel_that_lost_the_race_with_the_last_fill_leaves_it_filled():
    tracker = OrderTracker()
    tracker.placed(placed(1, 7, "buy", 10))
    tracker.cancel_requested(contracts.OrderCancelRequested(1, 7, "AAPL"), T1)
    [report] = tracker.trade(trade(1, 2, "10.00", 10, (10, "100.00"), (10, "100.00")))
    assert report["status"] == "filled"


def test_expiry_and_rejection_end_an_order():
    tracker = OrderTracker()
    tracker.placed(placed(1, 7, "buy", 10))
    tracker.placed(placed(2, 7, "buy", 10))
    expired = tracker.expired(contracts.OrderExpired(1, 7, "AAPL", 0, 10, Decimal("0")), T1)
    assert expired is not None and expired["status"] == "expired"
    rejected = tracker.rejected(contracts.OrderRejected(2, 7, "AAPL", "insufficient_cash", "needs 100.00"), T1)
    assert rejected is not None and (rejected["status"], rejected["reject_reason"]) == (
        "rejected", "insufficient_cash: needs 100.00")
    assert len(tracker) == 0


def test_open_orders_read_at_connect_are_followed_and_the_tracker_is_bounded():
    tracker = OrderTracker(capacity=2)
    tracker.bootstrap([{"id": 9, "client_order_id": None, "user_id": 7, "symbol": "AAPL", "side": "buy",
                        "type": "limit", "qty": 10, "limit_price": "10.00", "time_in_force": "gtc",
                        "status": "partially_filled", "filled_qty": 2, "filled_avg_price": "10.0000",
                        "reject_reason": None, "created_at": "x", "updated_at": "x"}])
    [report] = tracker.trade(trade(9, 2, "11.00", 1, (3, "31.00"), (1, "11.00")))
    assert (report["filled_qty"], report["filled_avg_price"]) == (3, "10.3333")
    for i in (1, 2, 3):
        tracker.placed(placed(i, 7, "buy", 10))
    assert len(tracker) == 2
    assert tracker.trade(trade(1, 8, "10.00", 1, (1, "10.00"), (1, "10.00"))) == []  # the oldest was evicted
    pushes(contracts.SimulationReset(epoch=2, requested_by=1), tracker)
    assert len(tracker) == 0


def test_pushes_send_execution_reports_first_and_only_to_the_owners():
    tracker = OrderTracker()
    assert pushes(placed(1, 7, "buy", 5), tracker) == []  # learned, not pushed
    pushes(placed(2, 8, "sell", 5), tracker)
    first, second, tape = pushes(trade(1, 2, "10.00", 5, (5, "50.00"), (5, "50.00")), tracker)
    assert (first.event, first.rooms, first.data["status"]) == ("order", ("user:7", INSTRUCTORS), "filled")
    assert (second.event, second.rooms) == ("order", ("user:8", INSTRUCTORS))
    assert (tape.event, tape.rooms) == ("trade", ("sym:AAPL",))


def test_a_stop_is_reported_waiting_then_triggered_then_filled():
    tracker = OrderTracker()
    tracker.placed(contracts.OrderPlaced(5, 7, "AAPL", "sell", "stop", 10, None, "gtc", "s5", T0,
                                         stop_price=Decimal("9.50")))
    assert (tracker.order(5)["stop_price"], tracker.order(5)["triggered"]) == ("9.50", False)
    waiting = tracker.booked(contracts.OrderBooked(5, 7, "AAPL", 0, 10, 3, triggered=False), T1)
    assert (waiting["status"], waiting["triggered"]) == ("new", False)
    [push] = pushes(contracts.OrderTriggered(5, 7, "AAPL", Decimal("9.45"), 4), tracker)
    assert (push.event, push.data["triggered"], push.data["status"], push.rooms) == (
        "order", True, "new", ("user:7", INSTRUCTORS))
    assert pushes(contracts.OrderTriggered(5, 7, "AAPL", Decimal("9.45"), 4), tracker) == []  # nothing new twice
    [report] = tracker.trade(trade(9, 5, "9.45", 10, (10, "94.50"), (10, "94.50")))
    assert (report["status"], report["triggered"], report["filled_avg_price"]) == ("filled", True, "9.4500")
    # an order that is no stop has neither field set
    tracker.placed(placed(6, 7, "buy", 1))
    assert (tracker.order(6)["stop_price"], tracker.order(6)["triggered"]) == (None, None)
