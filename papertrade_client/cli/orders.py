"""Commands for orders: place, cancel, list and show one, in one table layout."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.table import Table

from ..types import Order
from .app import Ctx, cli, pass_ctx, plain

ORDER_COLUMNS = ("id", "symbol", "side", "type", "qty", "limit", "stop", "tif", "status", "filled", "avg price",
                 "reason")


def order_table(orders: Sequence[Order]) -> Table:
    table = Table(*ORDER_COLUMNS)
    for o in orders:
        stop = "" if o.stop_price is None else plain(o.stop_price) + ("" if o.triggered else " (waiting)")
        table.add_row(str(o.id), o.symbol, o.side, o.type, str(o.qty), plain(o.limit_price), stop, o.time_in_force,
                      o.status, str(o.filled_qty), plain(o.filled_avg_price), o.reject_reason or "")
    return table


@cli.command()
@click.argument("symbol")
@click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))
@click.argument("qty", type=int)
@click.argument("price", required=False)
@click.option("--type", "order_type", type=click.Choice(["limit", "market", "stop", "stop_limit"]),
              help="default: limit with a PRICE, market without; with --stop, stop_limit or stop")
@click.option("--stop", "stop_price", help="stop price: the order waits until a trade reaches it")
@click.option("--tif", "time_in_force", type=click.Choice(["day", "gtc", "ioc", "fok"]))
@click.option("--client-order-id", help="idempotency key (generated when not given)")
@click.option("--user-id", type=int, help="instructor: place for this user")
@click.option("--wait/--no-wait", default=False, help="wait until matching has seen the order")
@pass_ctx
def place(c: Ctx, symbol: str, side: str, qty: int, price: str | None, order_type: str | None,
          stop_price: str | None, time_in_force: str | None, client_order_id: str | None, user_id: int | None,
          wait: bool) -> None:
    """Place an order: SYMBOL buy|sell QTY [PRICE] [--stop STOP]."""
    client = c.need_login()
    order = client.place_order(symbol.upper(), side.lower(), qty, price, type=order_type,
                               time_in_force=time_in_force, client_order_id=client_order_id, user_id=user_id,
                               stop_price=stop_price)
    if wait:
        order = client.wait_order(order.id)
    c.emit(order, order_table([order]))


@cli.command()
@click.argument("order_id", type=int)
@click.option("--qty", type=int, help="the new order's shares (default: what the old one still has open)")
@click.option("--limit", "limit_price", help="new limit price")
@click.option("--stop", "stop_price", help="new stop price")
@click.option("--tif", "time_in_force", type=click.Choice(["day", "gtc", "ioc", "fok"]))
@click.option("--wait/--no-wait", default=False, help="wait until matching has seen the replacement")
@pass_ctx
def replace(c: Ctx, order_id: int, qty: int | None, limit_price: str | None, stop_price: str | None,
            time_in_force: str | None, wait: bool) -> None:
    """Replace ORDER_ID in one step: the old order ends `replaced` (or, filled first, goes on)."""
    client = c.need_login()
    order = client.replace_order(order_id, qty=qty, limit_price=limit_price, stop_price=stop_price,
                                 time_in_force=time_in_force)
    if wait:
        order = client.wait_order(order.id)
    c.emit(order, order_table([order]))


@cli.command()
@click.argument("order_ids", type=int, nargs=-1)
@click.option("--all", "cancel_all", is_flag=True, help="cancel every open order of yours")
@click.option("--symbol", help="with --all: only this symbol's")
@pass_ctx
def cancel(c: Ctx, order_ids: tuple[int, ...], cancel_all: bool, symbol: str | None) -> None:
    """Cancel ORDER_IDS (or --all open orders); they turn canceled once matching confirms."""
    if not order_ids and not cancel_all:
        raise click.UsageError("give order ids or --all")
    client = c.need_login()
    orders = [client.cancel_order(i) for i in order_ids]
    if cancel_all:
        orders += client.cancel_all(symbol.upper() if symbol else None)
    c.emit(orders, order_table(orders) if orders else "no open orders")


@cli.command()
@click.option("--status", type=click.Choice(["all", "open", "closed"]), default="all", show_default=True)
@click.option("--symbol")
@click.option("--user-id", type=int, help="instructor: this user's orders")
@click.option("--limit", type=int)
@pass_ctx
def orders(c: Ctx, status: str, symbol: str | None, user_id: int | None, limit: int | None) -> None:
    """Your orders, newest first."""
    rows = c.need_login().orders(status, symbol.upper() if symbol else None, user_id, limit)
    c.emit(rows, order_table(rows))


@cli.command()
@click.argument("order_id", type=int)
@pass_ctx
def order(c: Ctx, order_id: int) -> None:
    """One order with its status history."""
    o = c.need_login().order(order_id)
    if c.as_json:
        c.emit(o)
        return
    c.out.print(order_table([o]))
    for h in o.history or []:
        c.out.print(f"  {h.extra.get('at', '')} {h.status} {h.extra.get('detail') or ''}".rstrip())
