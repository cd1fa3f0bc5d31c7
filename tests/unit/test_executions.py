"""Execution reports: the gateway derives an order's next state from a trade exactly as
stock_ordering will record it, or pushes nothing."""

from __future__ import annotations

from decimal import Decimal

from service_runtime.money import avg_price
from socket_gateway.executions import OrderTracker
from socket_gateway.push import INSTRUCTORS, pushes_for


def _order(order_id: int, user_id: int, side: str, qty: int, status: str = "new", filled: int = 0,
           avg: str | None = None) -> dict:
    return {
        "id": order_id, "client_order_id": f"c{order_id}", "user_id": user_id, "symbol": "AAPL", "side": side,
        "type": "limit", "qty": qty, "limit_price": "10.00", "time_in_force": "day", "status": status,
        "filled_qty": filled, "filled_avg_price": avg, "reject_reason": None,
        "created_at": "2026-11-22T08:00:00+00:00", "updated_at": "2026-11-22T08:00:00+00:00",
    }


def _updated(order: dict, notional: str | None = "0") -> dict:
    return {"order_id": order["id"], "user_id": order["user_id"], "order": order, "filled_notional": notional}


def _trade(buy_id: int, sell_id: int, price: str, qty: int, buy_filled: int, sell_filled: int) -> dict:
    return {
        "trade_id": 1, "seq": 1, "symbol": "AAPL", "price": price, "qty": qty, "buy_order_id": buy_id,
        "sell_order_id": sell_id, "buyer_id": 7, "seller_id": 8, "taker_side": "buy",
        "buy_filled_qty": buy_filled, "sell_filled_qty": sell_filled, "buy_remaining": 0, "sell_remaining": 0,
        "executed_at": "2026-11-22T08:00:01.000123+00:00",
    }


def test_a_trade_reports_both_orders_with_their_new_fill_and_average():
    tracker = OrderTracker()
    tracker.order_updated(_updated(_order(1, 7, "buy", 100, status="pending_new")))
    tracker.order_updated(_updated(_order(2, 8, "sell", 30)))
    buy, sell = tracker.trade(_trade(1, 2, "10.01", 30, 30, 30))
    assert (buy["id"], buy["status"], buy["filled_qty"], buy["filled_avg_price"]) == (1, "partially_filled", 30, "10.0100")
    assert (sell["id"], sell["status"], sell["filled_qty"], sell["filled_avg_price"]) == (2, "filled", 30, "10.0100")
    assert buy["updated_at"] == "2026-11-22T08:00:01.000123+00:00"
    assert buy["client_order_id"] == "c1"
    # The filled order is forgotten; the open one remembers its fills.
    assert len(tracker) == 1
    [buy] = tracker.trade({**_trade(1, 3, "10.02", 70, 100, 70)})
    assert (buy["status"], buy["filled_qty"]) == ("filled", 100)
    # (30 x 10.01 + 70 x 10.02) / 100 = 10.017, the same rule stock_ordering uses
    assert buy["filled_avg_price"] == "10.0170" == format(avg_price(100, Decimal("1001.70")), "f")
    assert len(tracker) == 0


def test_an_unknown_order_or_a_missed_fill_reports_nothing():
    tracker = OrderTracker()
    assert tracker.trade(_trade(1, 2, "10.00", 5, 5, 5)) == []
    tracker.order_updated(_updated(_order(1, 7, "buy", 100)))
    # The trade says 10 were filled before this one; we know of none: leave it to stock_ordering.
    assert tracker.trade(_trade(1, 2, "10.00", 5, 15, 5)) == []
    # The same trade delivered twice reports once.
    assert len(tracker.trade(_trade(1, 2, "10.00", 5, 5, 5))) == 1
    assert tracker.trade(_trade(1, 2, "10.00", 5, 5, 5)) == []


def test_a_pending_cancel_stays_pending_cancel_until_filled_and_updates_never_go_backwards():
    tracker = OrderTracker()
    tracker.order_updated(_updated(_order(1, 7, "buy", 10, status="pending_cancel")))
    [report] = tracker.trade(_trade(1, 2, "10.00", 4, 4, 4))
    assert report["status"] == "pending_cancel"
    # stock_ordering's older view (no fills yet) arriving late must not erase the fill.
    tracker.order_updated(_updated(_order(1, 7, "buy", 10, status="pending_cancel")))
    [report] = tracker.trade(_trade(1, 2, "10.00", 6, 10, 6))
    assert (report["status"], report["filled_qty"], report["filled_avg_price"]) == ("filled", 10, "10.0000")


def test_final_updates_and_resets_forget_orders_and_the_tracker_is_bounded():
    tracker = OrderTracker(capacity=2)
    for i in (1, 2, 3):
        tracker.order_updated(_updated(_order(i, 7, "buy", 10)))
    assert len(tracker) == 2
    assert tracker.trade(_trade(1, 9, "10.00", 1, 1, 1)) == []  # the oldest was evicted
    tracker.order_updated(_updated(_order(2, 7, "buy", 10, status="canceled")))
    assert len(tracker) == 1
    tracker.order_updated(_updated(_order(4, 7, "buy", 10), notional=None))  # an older producer: no notional
    assert len(tracker) == 1
    pushes_for("simulation.reset", {"epoch": 2, "requested_by": 1}, tracker)
    assert len(tracker) == 0


def test_pushes_for_sends_execution_reports_first_and_only_to_the_owners():
    tracker = OrderTracker()
    pushes_for("order.updated", _updated(_order(1, 7, "buy", 5)), tracker)
    pushes_for("order.updated", _updated(_order(2, 8, "sell", 5)), tracker)
    first, second, tape = pushes_for("trade.executed", _trade(1, 2, "10.00", 5, 5, 5), tracker)
    assert (first.event, first.rooms, first.data["status"]) == ("order", ("user:7", INSTRUCTORS), "filled")
    assert (second.event, second.rooms) == ("order", ("user:8", INSTRUCTORS))
    assert (tape.event, tape.rooms) == ("trade", ("sym:AAPL",))


def _placed(order_id: int, user_id: int, side: str, qty: int) -> dict:
    return {"order_id": order_id, "user_id": user_id, "symbol": "AAPL", "side": side, "type": "limit",
            "qty": qty, "limit_price": "10.00", "time_in_force": "day", "client_order_id": f"c{order_id}",
            "created_at": "2026-11-22T08:00:00+00:00"}


def test_orders_are_learned_from_order_placed_and_updates_that_repeat_a_report_are_not_pushed():
    tracker = OrderTracker()
    assert pushes_for("order.placed", _placed(1, 7, "buy", 10), tracker) == []  # learned, not pushed
    pushes_for("order.placed", {**_placed(2, 8, "sell", 4), "created_at": None}, tracker)  # an older producer
    assert len(tracker) == 1
    [report, tape] = pushes_for("trade.executed", _trade(1, 2, "10.00", 4, 4, 4), tracker)
    assert (report.data["id"], report.data["status"], report.data["client_order_id"]) == (1, "partially_filled", "c1")
    assert report.data["created_at"] == "2026-11-22T08:00:00+00:00" and tape.event == "trade"
    [report] = [p for p in pushes_for("trade.executed", _trade(1, 3, "10.00", 6, 10, 6), tracker)
                if p.event == "order"]
    assert report.data["status"] == "filled"
    # stock_ordering's updates arrive later: the stale partial and the repeated fill are not pushed
    assert pushes_for("order.updated", _updated(_order(1, 7, "buy", 10, "partially_filled", 4, "10.0000"),
                                                "40.00"), tracker) == []
    assert pushes_for("order.updated", _updated(_order(1, 7, "buy", 10, "filled", 10, "10.0000"),
                                                "100.00"), tracker) == []
    # an order the tracker never reported on is pushed as before
    [pushed] = pushes_for("order.updated", _updated(_order(5, 7, "buy", 10, "canceled")), tracker)
    assert (pushed.event, pushed.data["status"]) == ("order", "canceled")


def test_an_update_with_news_after_a_report_is_pushed():
    tracker = OrderTracker()
    pushes_for("order.placed", _placed(1, 7, "buy", 10), tracker)
    pushes_for("trade.executed", _trade(1, 2, "10.00", 4, 4, 4), tracker)
    [pushed] = pushes_for("order.updated", _updated(_order(1, 7, "buy", 10, "pending_cancel", 4, "10.0000"),
                                                    "40.00"), tracker)
    assert pushed.data["status"] == "pending_cancel"
