"""user_portfolio's event handlers: open accounts, reserve for orders, settle trades,
release what canceled / expired / rejected orders still hold, and announce each
touched portfolio once per batch."""

from __future__ import annotations

import logging

from service_runtime.contracts import (
    OrderApproved,
    OrderCanceled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PortfolioUpdated,
    PriceUpdated,
    StockListed,
    TradeExecuted,
    UserCreated,
)
from service_runtime.handlers import EventHandlers, NotReady, UnitOfWork
from service_runtime.money import ZERO

from . import store
from .domain import decide_order, new_avg_cost, portfolio_body, realized_pl

log = logging.getLogger("papertrade.user_portfolio")

handlers = EventHandlers("user_portfolio")


@handlers.on(UserCreated)
def open_account(uow: UnitOfWork, event: UserCreated) -> None:
    if store.open_account(
        uow.conn, event.user_id, event.name, event.role, event.starting_cash, dict(event.holdings or {})
    ):
        log.info("account %s opened with %s cash, holdings %s", event.user_id, event.starting_cash, event.holdings)
        uow.touch("user", event.user_id)
    uow.release(f"user:{event.user_id}")


@handlers.on(StockListed)
def list_symbol(uow: UnitOfWork, event: StockListed) -> None:
    store.upsert_symbol(uow.conn, event.symbol, event.name, event.reference_price)
    uow.release(f"symbol:{event.symbol}")


@handlers.on(PriceUpdated)
def move_price(uow: UnitOfWork, event: PriceUpdated) -> None:
    if store.get_symbol(uow.conn, event.symbol) is None:
        raise NotReady(f"symbol:{event.symbol}")
    store.set_last_price(uow.conn, event.symbol, event.last_price, event.trade_seq)


@handlers.on(OrderPlaced)
def reserve_for_order(uow: UnitOfWork, event: OrderPlaced) -> None:
    conn = uow.conn
    account = store.get_account(conn, event.user_id, for_update=True)
    if account is None:
        raise NotReady(f"user:{event.user_id}")
    symbol = store.get_symbol(conn, event.symbol)
    if symbol is None:
        raise NotReady(f"symbol:{event.symbol}")
    if store.get_reservation(conn, event.order_id) is not None:
        log.info("order %s already answered; order.placed ignored", event.order_id)
        return
    free_shares = 0
    if event.side == "sell":
        position = store.get_position(conn, event.user_id, event.symbol, for_update=True)
        if position is not None:
            free_shares = int(position["qty"] - position["reserved_qty"])
    decision = decide_order(
        side=event.side,
        type_=event.type,
        qty=event.qty,
        limit_price=event.limit_price,
        symbol=event.symbol,
        last_price=symbol["last_price"],
        reference_price=symbol["reference_price"],
        buying_power=account["cash"] - account["reserved_cash"],
        free_shares=free_shares,
    )
    common = {"order_id": event.order_id, "user_id": event.user_id, "symbol": event.symbol}
    if decision.approved:
        store.reserve(
            conn,
            **common,
            side=event.side,
            type_=event.type,
            qty=event.qty,
            reserve_price=decision.reserve_price,
            reserve_cash=decision.reserve_cash,
            reserve_qty=decision.reserve_qty,
            now=uow.now,
        )
        uow.emit(
            OrderApproved(
                **common,
                side=event.side,
                type=event.type,
                qty=event.qty,
                limit_price=event.limit_price,
                time_in_force=event.time_in_force,
                collar_price=decision.collar_price,
            )
        )
        log.info("order %s approved (%s %s %s x%s)", event.order_id, event.type, event.side, event.symbol, event.qty)
    else:
        assert decision.reason is not None and decision.message is not None
        store.record_rejection(
            conn, **common, side=event.side, type_=event.type, qty=event.qty, now=uow.now
        )
        uow.emit(OrderRejected(**common, reason=decision.reason, message=decision.message))
        log.info("order %s rejected: %s (%s)", event.order_id, decision.reason, decision.message)
    uow.touch("user", event.user_id)


def _reservation_for(uow: UnitOfWork, order_id: int, side: str, event: TradeExecuted) -> dict:
    res = store.get_reservation(uow.conn, order_id, for_update=True)
    if res is None or res["status"] == "rejected" or res["side"] != side or res["symbol"] != event.symbol:
        # matching only trades approved orders: this is a bug upstream, not an early event
        raise RuntimeError(f"trade {event.trade_id}: no approved {side} reservation for order {order_id}")
    return res


@handlers.on(TradeExecuted)
def settle_trade(uow: UnitOfWork, event: TradeExecuted) -> None:
    conn = uow.conn
    buy = _reservation_for(uow, event.buy_order_id, "buy", event)
    sell = _reservation_for(uow, event.sell_order_id, "sell", event)

    if not store.already_settled(conn, buy["order_id"], event.trade_id):
        position = store.get_position(conn, buy["user_id"], event.symbol, for_update=True)
        held = int(position["qty"]) if position else 0
        avg_cost = new_avg_cost(position["avg_cost"] if position else ZERO, held, event.price, event.qty)
        store.settle_buy(
            conn, buy, trade_id=event.trade_id, price=event.price, qty=event.qty, avg_cost=avg_cost, now=uow.now
        )
        if event.buy_remaining == 0:
            store.close_reservation(
                conn, {**buy, "filled_qty": buy["filled_qty"] + event.qty}, uow.now, event.buy_filled_qty
            )

    if not store.already_settled(conn, sell["order_id"], event.trade_id):
        position = store.get_position(conn, sell["user_id"], event.symbol, for_update=True)
        if position is None:
            raise RuntimeError(f"trade {event.trade_id}: seller {sell['user_id']} holds no {event.symbol}")
        pnl = realized_pl(event.price, position["avg_cost"], event.qty)
        store.settle_sell(conn, sell, trade_id=event.trade_id, price=event.price, qty=event.qty, pnl=pnl, now=uow.now)
        if event.sell_remaining == 0:
            store.close_reservation(
                conn, {**sell, "filled_qty": sell["filled_qty"] + event.qty}, uow.now, event.sell_filled_qty
            )

    log.info(
        "trade %s settled: %s x%s at %s, buy order %s (user %s), sell order %s (user %s)",
        event.trade_id, event.symbol, event.qty, event.price,
        event.buy_order_id, event.buyer_id, event.sell_order_id, event.seller_id,
    )
    uow.touch("user", buy["user_id"])
    uow.touch("user", sell["user_id"])


def _release(uow: UnitOfWork, order_id: int, why: str, final_filled: int | None) -> None:
    res = store.get_reservation(uow.conn, order_id, for_update=True)
    if res is None or res["status"] != "open":
        return
    store.close_reservation(uow.conn, res, uow.now, final_filled)
    log.info("order %s %s: reservation released", order_id, why)
    uow.touch("user", res["user_id"])


@handlers.on(OrderCanceled)
def release_canceled(uow: UnitOfWork, event: OrderCanceled) -> None:
    _release(uow, event.order_id, "canceled", event.filled_qty)


@handlers.on(OrderExpired)
def release_expired(uow: UnitOfWork, event: OrderExpired) -> None:
    _release(uow, event.order_id, "expired", event.filled_qty)


@handlers.on(OrderRejected)
def release_rejected(uow: UnitOfWork, event: OrderRejected) -> None:
    # Our own rejections come back here too: they hold nothing (status 'rejected').
    _release(uow, event.order_id, "rejected", None)


@handlers.after_batch
def announce_portfolios(uow: UnitOfWork) -> None:
    """One portfolio.updated per touched user per batch, however many fills it had."""
    users = uow.touched.get("user")
    if not users:
        return
    for valuation in store.load_valuations(uow.conn, sorted(users)):
        uow.emit(PortfolioUpdated(user_id=valuation.user_id, portfolio=portfolio_body(valuation)))
