"""user_portfolio's use cases: open accounts, reserve for orders, settle trades, release
what closing orders still hold, and announce portfolios and the leaderboard.

Each takes the batch (batch.py) whose records it changes; a use case checks all it
needs before changing anything, so `NotReady` parks an event that changed nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from service_runtime import contracts as events
from service_runtime.handlers import NotReady

from . import domain, store
from .batch import PortfolioBatch
from .domain import HOUSE_ID, Reservation, Rules, decide_order
from .valuation import portfolio_view

log = logging.getLogger("papertrade.user_portfolio")


# -- set-up --------------------------------------------------------------------------


def open_account(batch: PortfolioBatch, event: events.UserCreated) -> None:
    """The account with its starting cash and granted shares; nothing if it exists.

    The grant_cash ledger row marks the opening; its amount is 0 because the audit
    counts cash from starting_cash (cash = starting_cash + sum(amount)). Granted shares
    are a movement into the position (qty = sum(ledger.qty)), at the symbol's
    reference price as cost (set when the symbol is listed, if later)."""
    uow = batch.uow
    if batch.view_account(event.user_id) is None:
        now = uow.now
        batch.add_account(domain.new_account(event.user_id, event.name, event.role, event.starting_cash, now))
        batch.add_ledger(user_id=event.user_id, kind="grant_cash", now=now)
        for symbol, qty in sorted((event.holdings or {}).items()):
            if qty <= 0:
                continue
            position = batch.position(event.user_id, symbol, create=True)
            assert position is not None
            listing = batch.view_listing(symbol)
            position.qty += qty
            position.granted_qty += qty
            position.avg_cost = listing.reference_price if listing else domain.ZERO
            batch.add_ledger(user_id=event.user_id, kind="grant_shares", symbol=symbol, qty=qty, now=now)
        log.info("account %s opened with %s cash, holdings %s", event.user_id, event.starting_cash, event.holdings)
        batch.users.add(event.user_id)
        batch.ranking_moved = True
    uow.release(f"user:{event.user_id}")


def rename_account(batch: PortfolioBatch, event: events.UserUpdated) -> None:
    account = batch.account(event.user_id)
    if account is None:
        raise NotReady(f"user:{event.user_id}")
    account.name = event.name
    batch.users.add(event.user_id)
    batch.ranking_moved = True


def list_symbol(batch: PortfolioBatch, event: events.StockListed) -> None:
    """A new listing gives the untouched grants in it their cost; a relisting renames."""
    listing = batch.listing(event.symbol)
    if listing is None:
        reference = domain.cents(event.reference_price)
        batch.add_listing(domain.new_listing(event.symbol, event.name, reference))
        for position in batch.holders_of(event.symbol):
            if position.untouched_grant():
                position.avg_cost = reference
    else:
        listing.name, listing.reference_price = event.name, domain.cents(event.reference_price)
    batch.uow.release(f"symbol:{event.symbol}")


def change_rules(batch: PortfolioBatch, event: events.SettingsChanged) -> None:
    """Applies to orders approved from now on (an open order keeps the commission it was approved with)."""
    batch.rules_changed = Rules(event.commission_per_share, event.max_position, event.max_order_qty)
    log.info("settings: commission %s per share, max position %s, max order %s",
             event.commission_per_share, event.max_position, event.max_order_qty)


def reset(batch: PortfolioBatch, event: events.SimulationReset) -> None:
    """Every account back to its starting cash and granted shares; nothing reserved
    (the runtime reloads the state from what this leaves)."""
    uow = batch.uow
    if not uow.begin_epoch(event.epoch):
        return
    store.reset_all(uow.conn)
    batch.start_over()
    log.info("simulation reset: epoch %s", event.epoch)
    batch.ranking_moved = True
    uow.release(f"epoch:{event.epoch}")


# -- orders --------------------------------------------------------------------------


def reserve_for_order(batch: PortfolioBatch, event: events.OrderPlaced) -> None:
    """Approve (holding cash or shares) or reject a new order."""
    uow = batch.uow
    account = batch.account(event.user_id)
    if account is None:
        raise NotReady(f"user:{event.user_id}")
    listing = batch.view_listing(event.symbol)
    if listing is None:
        raise NotReady(f"symbol:{event.symbol}")
    if batch.open_reservation(event.order_id) is not None:
        log.info("order %s already answered; order.placed ignored", event.order_id)
        return
    position = batch.position(event.user_id, event.symbol)
    credit, reused_buys = (domain.ZERO, 0), 0
    if event.replaces is not None:
        replaced = batch.open_reservation(event.replaces)
        if replaced is None or replaced.filled_qty != event.replaces_filled_qty or replaced.pending_replace:
            _refuse(batch, event, domain.REJECT_REPLACE, f"order {event.replaces} was filled, canceled or "
                    "changed before the replace reached the portfolio")
            return
        credit = domain.held_for(replaced)  # the replacement may reuse what it still holds
        reused_buys = replaced.qty - replaced.filled_qty if replaced.side == "buy" else 0
    free_shares = position.free if position is not None else 0
    decision = decide_order(
        side=event.side, type_=event.type, qty=event.qty, limit_price=event.limit_price, symbol=event.symbol,
        last_price=listing.last_price, reference_price=listing.reference_price,
        buying_power=account.buying_power + credit[0], free_shares=free_shares + credit[1],
        held_qty=position.qty if position is not None else 0,
        open_buy_qty=position.open_buy_qty - reused_buys if position is not None else 0, rules=batch.rules,
        stop_price=event.stop_price,
    )
    common = {"order_id": event.order_id, "user_id": event.user_id, "symbol": event.symbol}
    if decision.approved:
        added_cash, added_qty = domain.hold(account, position, decision, uow.now, credit)
        if event.side == "buy":  # counts toward max_position until filled or closed
            position = batch.position(event.user_id, event.symbol, create=True)
            assert position is not None
            position.open_buy_qty += event.qty
        pending = event.replaces is not None
        batch.add_reservation(Reservation(
            **common, side=event.side, type=event.type, qty=event.qty,
            reserve_price=None if decision.reserve_price is None else domain.cents(decision.reserve_price),
            created_at=uow.now, commission=domain.cents(decision.commission), replaces=event.replaces,
            added_cash=added_cash if pending else None, added_qty=added_qty if pending else None,
        ))
        uow.emit(events.OrderApproved(**common, side=event.side, type=event.type, qty=event.qty,
                               limit_price=event.limit_price, time_in_force=event.time_in_force,
                               collar_price=decision.collar_price, stop_price=event.stop_price,
                               replaces=event.replaces, replaces_filled_qty=event.replaces_filled_qty))
        log.info("order %s approved (%s %s %s x%s)", event.order_id, event.type, event.side, event.symbol, event.qty)
        batch.users.add(event.user_id)
    else:
        assert decision.reason is not None and decision.message is not None
        _refuse(batch, event, decision.reason, decision.message)


def _refuse(batch: PortfolioBatch, event: events.OrderPlaced, reason: str, message: str) -> None:
    """Reject the order: a closed reservation holding nothing remembers the answer."""
    common = {"order_id": event.order_id, "user_id": event.user_id, "symbol": event.symbol}
    batch.add_reservation(Reservation(
        **common, side=event.side if event.side in ("buy", "sell") else "buy",
        type=event.type if event.type in domain.ORDER_TYPES else "limit", qty=max(event.qty, 1),
        status="rejected", created_at=batch.uow.now, closed_at=batch.uow.now,
    ))
    batch.uow.emit(events.OrderRejected(**common, reason=reason, message=message))
    log.info("order %s rejected: %s (%s)", event.order_id, reason, message)
    batch.users.add(event.user_id)


def replace_reservation(batch: PortfolioBatch, event: events.OrderReplaced) -> None:
    """Matching swapped the order for its replacement: the replacement takes over what
    the replaced order still held."""
    old = batch.open_reservation(event.order_id)
    new = batch.open_reservation(event.replaced_by)
    if old is None:
        return  # already applied
    if new is None or not new.pending_replace:
        _close(batch, old, batch.uow.now, event.filled_qty)
    else:
        account = batch.account(old.user_id)
        assert account is not None
        domain.take_over(account, batch.position(old.user_id, old.symbol), old, new, batch.uow.now)
    batch.users.add(old.user_id)


def _open_reservation(batch: PortfolioBatch, order_id: int, side: str, trade: events.TradeExecuted) -> Reservation:
    res = batch.reservation(order_id)
    if res is None or res.status == "rejected" or res.side != side or res.symbol != trade.symbol:
        # matching only trades approved orders: this is a bug upstream, not an early event
        raise RuntimeError(f"trade {trade.trade_id}: no approved {side} reservation for order {order_id}")
    return res


def _close(batch: PortfolioBatch, res: Reservation, now: datetime, final_filled: int | None) -> bool:
    """Close an open reservation, releasing what it still holds; False if it was not open."""
    if res.status != "open":
        return False
    unfilled = domain.unfilled_at_close(res, final_filled)
    if unfilled > 0:
        account = batch.account(res.user_id) if res.side == "buy" or res.commission else None
        domain.release(account, batch.position(res.user_id, res.symbol), res, unfilled, now)
    domain.close(res, now)
    return True


def settle_trade(batch: PortfolioBatch, trade: events.TradeExecuted) -> None:
    """Both sides of a fill: cash at the trade's price, shares, average cost and P&L, the
    reservations released for what filled, commissions to the house; the last price."""
    now = batch.uow.now
    buy = _open_reservation(batch, trade.buy_order_id, "buy", trade)
    sell = _open_reservation(batch, trade.sell_order_id, "sell", trade)

    # Each leg's cumulative fill says whether it is settled already (a replayed trade
    # finds its reservation there): a fill is never counted twice.
    fresh_buy = buy.filled_qty < trade.buy_filled_qty
    fresh_sell = sell.filled_qty < trade.sell_filled_qty
    if not (fresh_buy or fresh_sell):
        log.info("trade %s settled already", trade.trade_id)
        return
    if fresh_buy:
        buyer = batch.account(buy.user_id)
        assert buyer is not None  # a reservation is written only for a known account
        position = batch.position(buy.user_id, trade.symbol, create=True)
        assert position is not None
        amount = domain.settle_buy(buyer, position, buy, price=trade.price, qty=trade.qty, now=now)
        batch.add_ledger(user_id=buy.user_id, kind="buy", symbol=buy.symbol, qty=trade.qty, amount=amount,
                         order_id=buy.order_id, trade_id=trade.trade_id, now=now)
        _charge_commission(batch, buy, trade, now)
        if trade.buy_remaining == 0:
            _close(batch, buy, now, trade.buy_filled_qty)

    if fresh_sell:
        seller = batch.account(sell.user_id)
        assert seller is not None
        position = batch.position(sell.user_id, trade.symbol)
        if position is None:
            raise RuntimeError(f"trade {trade.trade_id}: seller {sell.user_id} holds no {trade.symbol}")
        amount = domain.settle_sell(seller, position, sell, price=trade.price, qty=trade.qty, now=now)
        batch.add_ledger(user_id=sell.user_id, kind="sell", symbol=sell.symbol, qty=-trade.qty, amount=amount,
                         order_id=sell.order_id, trade_id=trade.trade_id, now=now)
        _charge_commission(batch, sell, trade, now)
        if trade.sell_remaining == 0:
            _close(batch, sell, now, trade.sell_filled_qty)

    # The last price is the trade's: taken here rather than from stock_data's
    # price.updated, so the portfolios announced after this batch are valued at it
    # and a trade costs user_portfolio one event instead of two (docs/decisions.md).
    listing = batch.listing(trade.symbol)
    if listing is not None:  # listed before any order on it could be approved
        listing.move_price(trade.price, trade.seq)
    batch.trades.append({
        "trade_id": trade.trade_id, "seq": trade.seq, "symbol": trade.symbol, "price": trade.price,
        "qty": trade.qty, "buyer_id": trade.buyer_id, "seller_id": trade.seller_id,
        "buy_order_id": trade.buy_order_id, "sell_order_id": trade.sell_order_id, "executed_at": trade.executed_at,
        "buy_commission": buy.commission_for(trade.qty), "sell_commission": sell.commission_for(trade.qty),
    })
    batch.ranking_moved = True
    log.info("trade %s settled: %s x%s at %s, buy order %s (user %s), sell order %s (user %s)",
             trade.trade_id, trade.symbol, trade.qty, trade.price, trade.buy_order_id, trade.buyer_id,
             trade.sell_order_id, trade.seller_id)
    batch.users.update((buy.user_id, sell.user_id))


def _charge_commission(batch: PortfolioBatch, res: Reservation, trade: events.TradeExecuted, now: datetime) -> None:
    """One side's commission for this fill (fixed when its order was approved) goes to
    the house account; both movements are in the ledger."""
    account = batch.account(res.user_id)
    assert account is not None
    account.fills += 1
    amount = res.commission_for(trade.qty)
    if amount <= 0:
        return
    domain.charge_commission(account, batch.house(), amount, now)
    for user_id, signed in ((res.user_id, -amount), (HOUSE_ID, amount)):
        batch.add_ledger(user_id=user_id, kind="commission", symbol=res.symbol, amount=signed,
                         trade_id=trade.trade_id, now=now)


def release_order(batch: PortfolioBatch, order_id: int, why: str, final_filled: int | None) -> None:
    """A canceled, expired or rejected order gives back what it still holds."""
    res = batch.reservation(order_id)
    if res is None or res.status != "open":
        return  # our own rejections hold nothing
    _close(batch, res, batch.uow.now, final_filled)
    log.info("order %s %s: reservation released", order_id, why)
    batch.users.add(res.user_id)


# -- announcing ------------------------------------------------------------------------


def announce_portfolios(batch: PortfolioBatch) -> None:
    """One portfolio.updated per touched user per batch, however many fills it had,
    valued as GET /api/portfolios values them from the tables."""
    for user_id in sorted(batch.users):
        valuation = batch.valuation(user_id)
        if valuation is not None:
            batch.uow.notify(events.PortfolioUpdated(user_id=user_id, portfolio=portfolio_view(valuation)))


class LeaderboardAnnouncer:
    """When the leaderboard is announced: after a batch that moved it, at most every
    INTERVAL seconds (the gateway pushes it at most once a second). A change within the
    interval is announced when the interval is up (the worker runs the announcers
    again then, `run_again_in`), so the last change is always announced. Each
    announcement revalues only what changed since the last (ranking.Ranking)."""

    INTERVAL = 1.0

    def __init__(self) -> None:
        self.pending = False
        self.last = float("-inf")

    def after(self, batch: PortfolioBatch) -> None:
        batch.state.ranking.note(batch)
        if batch.ranking_moved:
            self.pending = True
        if not self.pending:
            return
        now = time.monotonic()
        wait = self.last + self.INTERVAL - now
        if wait > 0:
            batch.uow.run_again_in(wait)
            return
        self.pending, self.last = False, now
        batch.uow.notify(events.LeaderboardUpdated(rows=batch.state.ranking.rows(batch)))
