"""Commands for accounts: a portfolio and the leaderboard."""

from __future__ import annotations

import click
from rich.table import Table

from .app import Ctx, cli, pass_ctx, plain


@cli.command()
@click.argument("user_id", type=int, required=False)
@pass_ctx
def portfolio(c: Ctx, user_id: int | None) -> None:
    """Cash, buying power, equity and positions (yours, or USER_ID's for an instructor)."""
    p = c.need_login().portfolio(user_id)
    if c.as_json:
        c.emit(p)
        return
    c.out.print(f"user {p.user_id}{f' ({p.name})' if p.name else ''}: cash {plain(p.cash)}, reserved "
                f"{plain(p.reserved_cash)}, buying power {plain(p.buying_power)}, equity {plain(p.equity)}, realized P&L "
                f"{plain(p.realized_pl)}, unrealized P&L {plain(p.unrealized_pl)}")
    table = Table("symbol", "qty", "reserved", "avg cost", "last", "market value", "unrealized P&L")
    for pos in p.positions:
        table.add_row(pos.symbol, str(pos.qty), str(pos.reserved_qty), plain(pos.avg_cost), plain(pos.last_price),
                      plain(pos.market_value), plain(pos.unrealized_pl))
    c.out.print(table)


@cli.command()
@click.option("--limit", type=int)
@pass_ctx
def leaderboard(c: Ctx, limit: int | None) -> None:
    """Traders ranked by equity."""
    rows = c.need_login().leaderboard(limit)
    table = Table("rank", "user", "name", "equity", "return %", "realized P&L", "unrealized P&L")
    for r in rows:
        table.add_row(str(r.rank or ""), str(r.user_id), r.name, plain(r.equity), plain(r.return_pct), plain(r.realized_pl),
                      plain(r.unrealized_pl))
    c.emit(rows, table)
