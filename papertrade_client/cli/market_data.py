"""Commands for the market: stocks, an order book, the market status, and the instructor's reset."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from .app import Ctx, cli, pass_ctx, plain


@cli.command()
@click.argument("symbol", required=False)
@pass_ctx
def stocks(c: Ctx, symbol: str | None) -> None:
    """Listed stocks with last price and day statistics (or one SYMBOL)."""
    client = c.client(auth=False)
    rows = [client.stock(symbol.upper())] if symbol else client.stocks()
    table = Table("symbol", "name", "last", "change %", "open", "high", "low", "volume")
    for s in rows:
        table.add_row(s.symbol, s.name, plain(s.last_price), plain(s.change_pct), plain(s.open), plain(s.high), plain(s.low),
                      str(s.volume))
    c.emit(rows if not symbol else rows[0], table)


@cli.command()
@click.argument("symbol")
@click.option("--levels", type=int, default=10, show_default=True)
@pass_ctx
def book(c: Ctx, symbol: str, levels: int) -> None:
    """The order book of SYMBOL: bids and asks, best first."""
    b = c.client(auth=False).book(symbol.upper(), levels)
    table = Table("bid orders", "bid qty", "bid", "ask", "ask qty", "ask orders", title=f"{b.symbol} (seq {b.seq})")
    for i in range(max(len(b.bids), len(b.asks))):
        bid = b.bids[i] if i < len(b.bids) else None
        ask = b.asks[i] if i < len(b.asks) else None
        table.add_row(str(bid.orders) if bid else "", str(bid.qty) if bid else "", plain(bid.price) if bid else "",
                      plain(ask.price) if ask else "", str(ask.qty) if ask else "", str(ask.orders) if ask else "")
    c.emit(b, table)


@cli.command()
@click.argument("action", type=click.Choice(["status", "open", "halt", "close"]), default="status")
@pass_ctx
def market(c: Ctx, action: str) -> None:
    """The market's status; `open`, `halt` and `close` are the instructor's."""
    if action == "status":
        m = c.client(auth=False).market()
    else:
        client = c.need_login()
        m = {"open": client.open_market, "halt": client.halt_market, "close": client.close_market}[action]()
    c.emit(m, f"market {m.status}" + (f" (was {m.previous})" if m.previous and m.changed else ""))


@cli.command()
@click.option("--revoke-tokens", is_flag=True,
              help="also sign every trader and bot out: their tokens stop working (instructors keep theirs)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@pass_ctx
def reset(c: Ctx, revoke_tokens: bool, yes: bool) -> None:
    """Instructor: reset the simulation (every order, trade and position is erased)."""
    client = c.need_login()
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("a reset erases every order, trade and position: add --yes to confirm")
        click.confirm(f"Erase every order, trade and position at {c.url}?", abort=True)
    done = client.reset_simulation(revoke_tokens=revoke_tokens)
    signed_out = " (traders and bots must log in again)" if revoke_tokens else ""
    c.emit(done, f"reset under way: epoch {done['epoch']}{signed_out}")
