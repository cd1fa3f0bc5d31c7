"""user_portfolio's event handlers: open accounts, reserve for orders, settle trades,
release what canceled / expired / rejected orders still hold, and announce each
touched portfolio once per batch.

A batch costs a constant number of statements: `prefetch` loads, one query per
table, the rows the batch's events name; the handlers read and change those rows in
memory (store.BatchState, kept in uow.touched["state"]); `write_batch` writes every
changed row back with one executemany per table; `announce_portfolios` values the
touched portfolios from the same rows. A handler still checks everything it needs
before changing anything, so `NotReady` parks an event that changed nothing."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from service_runtime.contracts import (
    Event,
    LeaderboardUpdated,
    OrderApproved,
    OrderCanceled,
    OrderExpired,
    OrderPlaced,
    OrderRejected,
    PortfolioUpdated,
    SettingsChanged,
    SimulationReset,
    StockListed,
    TradeExecuted,
    UserCreated,
)
from service_runtime.handlers import EventHandlers, NotReady, UnitOfWork

from . import domain, store
from .domain import HOUSE_ID, Rules, decide_order, leaderboard, portfolio_body
from .store import BatchState

log = logging.getLogger("papertrade.user_portfolio")

handlers = EventHandlers("user_portfolio")

STATE = "state"
LEADERBOARD = "leaderboard"  # uow.touch(LEADERBOARD, True): announce the leaderboard after this batch


def batch_state(uow: UnitOfWork) -> BatchState:
    """This batch's rows (created empty when the batch did not go through prefetch)."""
    state = uow.touched.get(STATE)
    if state is None:
        state = uow.touched[STATE] = BatchState(uow.conn)  # type: ignore[assignment]
    return state  # type: ignore[return-value]


def _wait(state: BatchState, wait_key: str) -> NotReady:
    state.parked.add(wait_key)  # released later in this batch if what it waits for arrives
    return NotReady(wait_key)


def _release(uow: UnitOfWork, state: BatchState, wait_key: str) -> None:
    """Replay what waited for `wait_key`, skipping the query when nothing can be parked."""
    if state.may_have_parked(wait_key):
        state.parked.discard(wait_key)
        uow.release(wait_key)


@handlers.before_batch
def prefetch(uow: UnitOfWork, events: list[Event]) -> None:
    users: set[int] = set()
    symbols: set[str] = set()
    orders: set[int] = set()
    fills: set[tuple[int, int]] = set()
    wait_keys: set[str] = set()
    for event in events:
        if isinstance(event, UserCreated):
            users.add(event.user_id)
            symbols.update(event.holdings or {})
            wait_keys.add(f"user:{event.user_id}")
        elif isinstance(event, StockListed):
            symbols.add(event.symbol)
            wait_keys.add(f"symbol:{event.symbol}")
        elif isinstance(event, OrderPlaced):
            users.add(event.user_id)
            symbols.add(event.symbol)
            orders.add(event.order_id)
        elif isinstance(event, TradeExecuted):
            users.update((event.buyer_id, event.seller_id))
            symbols.add(event.symbol)
            orders.update((event.buy_order_id, event.sell_order_id))
            fills.update(((event.buy_order_id, event.trade_id), (event.sell_order_id, event.trade_id)))
        elif isinstance(event, OrderCanceled | OrderExpired | OrderRejected):
            users.add(event.user_id)
            orders.add(event.order_id)
    batch_state(uow).prefetch(users, symbols, orders, fills, wait_keys)


@handlers.on(UserCreated)
def open_account(uow: UnitOfWork, event: UserCreated) -> None:
    """Create the account with its starting cash and granted shares; nothing if it exists.

    The grant_cash ledger row marks the opening; its amount is 0 because the audit
    counts cash from starting_cash (cash = starting_cash + sum(amount)). Granted
    shares are a movement into the position (qty = sum(ledger.qty)). Their cost
    basis is the symbol's reference price (set when the symbol is listed, if later)."""
    state = batch_state(uow)
    if state.account(event.user_id) is None:
        now = uow.now
        state.changed_account(domain.new_account(event.user_id, event.name, event.role, event.starting_cash, now))
        state.add_ledger(user_id=event.user_id, kind="grant_cash", now=now)
        for symbol, qty in sorted((event.holdings or {}).items()):
            if qty <= 0:
                continue
            if state.position(event.user_id, symbol) is None:
                listed = state.symbol(symbol)
                cost = listed["reference_price"] if listed else domain.ZERO
                state.changed_position(
                    domain.new_position(event.user_id, symbol, now, qty=qty, granted_qty=qty, avg_cost=cost)
                )
            state.add_ledger(user_id=event.user_id, kind="grant_shares", symbol=symbol, qty=qty, now=now)
        log.info("account %s opened with %s cash, holdings %s", event.user_id, event.starting_cash, event.holdings)
        uow.touch("user", event.user_id)
        uow.touch(LEADERBOARD, True)
    _release(uow, state, f"user:{event.user_id}")


@handlers.on(StockListed)
def list_symbol(uow: UnitOfWork, event: StockListed) -> None:
    state = batch_state(uow)
    row = state.symbol(event.symbol)
    if row is None:
        state.changed_symbol(domain.new_symbol(event.symbol, event.name, event.reference_price))
        state.listed_now(event.symbol, domain.cents(event.reference_price))
    else:
        row["name"], row["reference_price"] = event.name, domain.cents(event.reference_price)
        state.changed_symbol(row)
    _release(uow, state, f"symbol:{event.symbol}")


@handlers.on(SettingsChanged)
def change_rules(uow: UnitOfWork, event: SettingsChanged) -> None:
    """Applies to orders approved from now on (an open order keeps the commission it was approved with)."""
    store.save_rules(uow.conn, Rules(event.commission_per_share, event.max_position, event.max_order_qty))
    batch_state(uow)._rules = None
    log.info("settings: commission %s per share, max position %s, max order %s",
             event.commission_per_share, event.max_position, event.max_order_qty)


@handlers.on(SimulationReset)
def reset(uow: UnitOfWork, event: SimulationReset) -> None:
    """Every account back to its starting cash and granted shares; nothing reserved."""
    if not uow.begin_epoch(event.epoch):
        return
    store.reset_all(uow.conn)
    log.info("simulation reset: epoch %s", event.epoch)
    uow.touch(LEADERBOARD, True)
    uow.release(f"epoch:{event.epoch}")


@handlers.on(OrderPlaced)
def reserve_for_order(uow: UnitOfWork, event: OrderPlaced) -> None:
    state = batch_state(uow)
    account = state.account(event.user_id)
    if account is None:
        raise _wait(state, f"user:{event.user_id}")
    symbol = state.symbol(event.symbol)
    if symbol is None:
        raise _wait(state, f"symbol:{event.symbol}")
    if state.reservation(event.order_id) is not None:
        log.info("order %s already answered; order.placed ignored", event.order_id)
        return
    rules = state.rules()
    position = state.position(event.user_id, event.symbol)
    free_shares = int(position["qty"] - position["reserved_qty"]) if position is not None else 0
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
        held_qty=int(position["qty"]) if position is not None else 0,
        open_buy_qty=int(position["open_buy_qty"]) if position is not None else 0,
        rules=rules,
    )
    common = {"order_id": event.order_id, "user_id": event.user_id, "symbol": event.symbol}
    if decision.approved:
        domain.hold(account, position, decision, uow.now)
        if decision.reserve_cash:
            state.changed_account(account)
        if decision.reserve_qty and position is not None:
            state.changed_position(position)
        if event.side == "buy":  # counts toward max_position until filled or closed
            if position is None:
                position = domain.new_position(event.user_id, event.symbol, uow.now)
            position["open_buy_qty"] += event.qty
            state.changed_position(position)
        state.changed_reservation(
            domain.new_reservation(
                **common, side=event.side, type_=event.type, qty=event.qty,
                reserve_price=decision.reserve_price, now=uow.now, commission=decision.commission,
            )
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
        state.changed_reservation(
            domain.rejected_reservation(**common, side=event.side, type_=event.type, qty=event.qty, now=uow.now)
        )
        uow.emit(OrderRejected(**common, reason=decision.reason, message=decision.message))
        log.info("order %s rejected: %s (%s)", event.order_id, decision.reason, decision.message)
    uow.touch("user", event.user_id)


def _reservation_for(state: BatchState, order_id: int, side: str, event: TradeExecuted) -> dict:
    res = state.reservation(order_id)
    if res is None or res["status"] == "rejected" or res["side"] != side or res["symbol"] != event.symbol:
        # matching only trades approved orders: this is a bug upstream, not an early event
        raise RuntimeError(f"trade {event.trade_id}: no approved {side} reservation for order {order_id}")
    return res


def _account_of(state: BatchState, res: dict) -> dict:
    account = state.account(res["user_id"])
    if account is None:  # a reservation is written only for a known account (on_order_placed parks the rest)
        raise RuntimeError(f"order {res['order_id']}: no account {res['user_id']}")
    return account


def _close(state: BatchState, res: dict, now: datetime, final_filled: int | None) -> bool:
    """Close an open reservation, releasing what it still holds; False if it was not open."""
    if res["status"] != "open":
        return False
    unfilled = domain.unfilled_at_close(res, final_filled)
    if unfilled > 0:
        if res["side"] == "buy" or res.get("commission"):
            account = _account_of(state, res)
            domain.release_cash(account, res, unfilled, now)
            state.changed_account(account)
        position = state.position(res["user_id"], res["symbol"])
        if position is not None:  # an approved order always has one
            if res["side"] == "sell":
                domain.release_shares(position, unfilled, now)
            else:
                domain.release_open_buy(position, unfilled, now)
            state.changed_position(position)
    domain.close(res, now)
    state.changed_reservation(res)
    return True


@handlers.on(TradeExecuted)
def settle_trade(uow: UnitOfWork, event: TradeExecuted) -> None:
    state = batch_state(uow)
    now = uow.now
    buy = _reservation_for(state, event.buy_order_id, "buy", event)
    sell = _reservation_for(state, event.sell_order_id, "sell", event)
    new_legs = 0

    if not state.already_settled(buy["order_id"], event.trade_id):
        new_legs += 1
        account = _account_of(state, buy)
        position = state.position(buy["user_id"], event.symbol)
        if position is None:
            position = domain.new_position(buy["user_id"], event.symbol, now)
        amount = domain.settle_buy(account, position, buy, price=event.price, qty=event.qty, now=now)
        state.changed_account(account)
        state.changed_position(position)
        state.changed_reservation(buy)
        state.add_ledger(user_id=buy["user_id"], kind="buy", symbol=buy["symbol"], qty=event.qty, amount=amount,
                         order_id=buy["order_id"], trade_id=event.trade_id, now=now)
        _charge_commission(state, buy, account, event, now)
        if event.buy_remaining == 0:
            _close(state, buy, now, event.buy_filled_qty)

    if not state.already_settled(sell["order_id"], event.trade_id):
        new_legs += 1
        account = _account_of(state, sell)
        position = state.position(sell["user_id"], event.symbol)
        if position is None:
            raise RuntimeError(f"trade {event.trade_id}: seller {sell['user_id']} holds no {event.symbol}")
        amount = domain.settle_sell(account, position, sell, price=event.price, qty=event.qty, now=now)
        state.changed_account(account)
        state.changed_position(position)
        state.changed_reservation(sell)
        state.add_ledger(user_id=sell["user_id"], kind="sell", symbol=sell["symbol"], qty=-event.qty,
                         amount=amount, order_id=sell["order_id"], trade_id=event.trade_id, now=now)
        _charge_commission(state, sell, account, event, now)
        if event.sell_remaining == 0:
            _close(state, sell, now, event.sell_filled_qty)

    if new_legs:
        # The last price is the trade's: taken here rather than from stock_data's
        # price.updated, so the portfolios announced after this batch are valued at it,
        # and a trade costs user_portfolio one event instead of two (docs/decisions.md).
        symbol = state.symbol(event.symbol)
        if symbol is not None:  # listed before any order on it could be approved
            domain.move_last_price(symbol, event.price, event.seq)
            state.changed_symbol(symbol)
        state.trades.append({
            "trade_id": event.trade_id, "seq": event.seq, "symbol": event.symbol, "price": event.price,
            "qty": event.qty, "buyer_id": event.buyer_id, "seller_id": event.seller_id,
            "buy_order_id": event.buy_order_id, "sell_order_id": event.sell_order_id,
            "executed_at": event.executed_at, "buy_commission": domain.commission_for(buy, event.qty),
            "sell_commission": domain.commission_for(sell, event.qty),
        })
        uow.touch(LEADERBOARD, True)

    log.info(
        "trade %s settled: %s x%s at %s, buy order %s (user %s), sell order %s (user %s)",
        event.trade_id, event.symbol, event.qty, event.price,
        event.buy_order_id, event.buyer_id, event.sell_order_id, event.seller_id,
    )
    uow.touch("user", buy["user_id"])
    uow.touch("user", sell["user_id"])


def _charge_commission(state: BatchState, res: dict, account: dict, event: TradeExecuted, now: datetime) -> None:
    """One side's commission for this fill (fixed when its order was approved) goes to
    the house account; both movements are in the ledger."""
    account["fills"] = int(account.get("fills") or 0) + 1
    state.changed_account(account)
    amount = domain.commission_for(res, event.qty)
    if amount <= 0:
        return
    house = state.account(HOUSE_ID)
    if house is None:  # created by the migration
        raise RuntimeError("no house account")
    domain.charge_commission(account, house, amount, now)
    state.changed_account(account)
    state.changed_account(house)
    for user_id, signed in ((res["user_id"], -amount), (HOUSE_ID, amount)):
        state.add_ledger(user_id=user_id, kind="commission", symbol=res["symbol"], amount=signed,
                         trade_id=event.trade_id, now=now)


def _release_order(uow: UnitOfWork, order_id: int, why: str, final_filled: int | None) -> None:
    state = batch_state(uow)
    res = state.reservation(order_id)
    if res is None or res["status"] != "open":
        return
    _close(state, res, uow.now, final_filled)
    log.info("order %s %s: reservation released", order_id, why)
    uow.touch("user", res["user_id"])


@handlers.on(OrderCanceled)
def release_canceled(uow: UnitOfWork, event: OrderCanceled) -> None:
    _release_order(uow, event.order_id, "canceled", event.filled_qty)


@handlers.on(OrderExpired)
def release_expired(uow: UnitOfWork, event: OrderExpired) -> None:
    _release_order(uow, event.order_id, "expired", event.filled_qty)


@handlers.on(OrderRejected)
def release_rejected(uow: UnitOfWork, event: OrderRejected) -> None:
    # Our own rejections come back here too: they hold nothing (status 'rejected').
    _release_order(uow, event.order_id, "rejected", None)


# after_batch hooks run in the order they are declared: write first, then announce.


@handlers.after_batch
def write_batch(uow: UnitOfWork) -> None:
    """Write every row the batch changed: one executemany per table."""
    state = uow.touched.get(STATE)
    if state is None:
        return
    state.load_users(uow.touched.get("user", ()))  # a miss only: the portfolios announced next
    state.flush()


class _LeaderboardAnnouncer:
    """When the leaderboard is announced: after a batch that changed it, at most every
    INTERVAL seconds. A change within the interval is announced when the interval is
    up (the worker runs the batch hooks again then, `run_again_in`), so the last
    change is always announced, within INTERVAL. Under load this is one valuation
    query over all traders every INTERVAL instead of one per batch (it was the most
    costly statement of a benchmark run); the gateway pushes at most once a second."""

    INTERVAL = 0.25

    def __init__(self) -> None:
        self.pending = False
        self.last = float("-inf")

    def after(self, uow: UnitOfWork) -> None:
        if uow.touched.get(LEADERBOARD):
            self.pending = True
        if not self.pending:
            return
        now = time.monotonic()
        wait = self.last + self.INTERVAL - now
        if wait > 0:
            uow.run_again_in(wait)
            return
        self.pending, self.last = False, now
        uow.emit(LeaderboardUpdated(rows=leaderboard(store.load_valuations(uow.conn, role="trader"))))


_leaderboard = _LeaderboardAnnouncer()


@handlers.after_batch
def announce_leaderboard(uow: UnitOfWork) -> None:
    """The traders' leaderboard after batches that settled trades, moved prices, opened
    accounts or reset, at most every _LeaderboardAnnouncer.INTERVAL."""
    _leaderboard.after(uow)


@handlers.after_batch
def announce_portfolios(uow: UnitOfWork) -> None:
    """One portfolio.updated per touched user per batch, however many fills it had,
    valued from the batch's rows as GET /api/portfolios values them from the tables."""
    users = uow.touched.get("user")
    if not users:
        return
    for valuation in batch_state(uow).valuations(users):
        uow.emit(PortfolioUpdated(user_id=valuation.user_id, portfolio=portfolio_body(valuation)))
