"""`papertrade`: the exchange from a terminal or a script.

    papertrade --url http://localhost:8000 login 2
    papertrade stocks
    papertrade place AAPL buy 10 189.50
    papertrade orders --status open
    papertrade watch --symbol AAPL
    papertrade load orders.csv --concurrency 4 --batch-size 500

The login is kept in ~/.config/papertrade/config.json (PAPERTRADE_CLI_CONFIG);
the server is --url, else PAPERTRADE_URL, else the URL of the last login, else
http://localhost:8000. `--json` prints machine-readable output instead of tables.
Exit status: 0 done, 1 the server refused (the error is printed), 2 bad usage.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import gen
from .client import DEFAULT_URL, Client
from .config import CliConfig, config_path
from .errors import PapertradeError
from .load import LineError, LoadResult, read_orders, send_orders
from .orders import MAX_BATCH
from .stream import EVENTS, Stream, StreamEvent
from .types import Order, to_json


class Ctx:
    def __init__(self, url: str | None, as_json: bool) -> None:
        self.config = CliConfig.load()
        self.url = (url or self.config.url or DEFAULT_URL).rstrip("/")
        self.as_json = as_json
        # a pipe or a file gets wide tables rather than 80 columns of truncated cells
        self.out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        self.err = Console(stderr=True, highlight=False)

    def client(self, auth: bool = True) -> Client:
        token = self.config.token if auth and self._same_server() else None
        client = Client(self.url, token)
        if token and self.config.user:
            from .types import User, parse

            client.user = parse(User, self.config.user)
        return client

    def _same_server(self) -> bool:
        return self.config.url is None or self.config.url.rstrip("/") == self.url

    def need_login(self) -> Client:
        client = self.client()
        if client.token is None:
            raise click.ClickException(f"not logged in at {self.url}: run `papertrade login USER_ID` first")
        return client

    def emit(self, data: Any, table: Table | str | None = None) -> None:
        if self.as_json or table is None:
            click.echo(json.dumps(to_json(data), indent=None if isinstance(data, list) else 2))
        else:
            self.out.print(table)


class Cli(click.Group):
    """Server refusals become one line on stderr and exit status 1, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PapertradeError as exc:
            detail = f" (field {exc.field})" if exc.field else ""
            status = exc.status if exc.status is not None else "no answer"
            click.echo(f"error: {status} {exc.code}: {exc.message}{detail}", err=True)
            if exc.status == 401 and "revoked" in exc.message:
                click.echo("the instructor reset the simulation and signed everyone out: "
                           "run `papertrade login USER_ID` again", err=True)
            elif exc.status == 401 and exc.field != "password":
                click.echo("the kept token is not accepted (expired?): run `papertrade login USER_ID` again",
                           err=True)
            sys.exit(1)


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(cls=Cli)
@click.option("--url", envvar="PAPERTRADE_URL", help="the exchange (default: the last login's, else localhost:8000)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
@click.version_option(package_name="papertrade")
@click.pass_context
def cli(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """papertrade from the command line: trade, watch, and load orders from files."""
    ctx.obj = Ctx(url, as_json)


def main() -> None:
    cli(prog_name="papertrade")


# ---------------------------------------------------------------------- session
@cli.command()
@click.argument("user_id", type=int)
@click.option("--password", envvar="PAPERTRADE_PASSWORD", help="instructors need one (demo traders do not)")
@pass_ctx
def login(c: Ctx, user_id: int, password: str | None) -> None:
    """Log in as USER_ID and keep the token for the next commands."""
    client = Client(c.url)
    try:
        session = client.login(user_id, password)
    except PapertradeError as exc:
        if exc.status == 401 and exc.field == "password" and password is None and sys.stdin.isatty():
            session = client.login(user_id, click.prompt("password", hide_input=True))
        else:
            raise
    c.config = CliConfig(url=c.url, token=session.token, user=to_json(session.user))
    path = c.config.save()
    if c.as_json:
        c.emit({"user": to_json(session.user), "url": c.url, "config": str(path)})
    else:
        c.out.print(f"logged in as {session.user.name} (user {session.user.id}, {session.user.role}) "
                    f"at {c.url}; token kept in {path}")


@cli.command()
@pass_ctx
def logout(c: Ctx) -> None:
    """Forget the kept token."""
    CliConfig(url=c.config.url).save()
    c.out.print(f"logged out ({config_path()})")


@cli.command()
@pass_ctx
def users(c: Ctx) -> None:
    """Every user: id, name, role."""
    rows = c.client(auth=False).users()
    table = Table("id", "name", "role")
    for u in rows:
        table.add_row(str(u.id), u.name, u.role)
    c.emit(rows, table)


# ---------------------------------------------------------------------- market data
def _d(value: Decimal | None) -> str:
    return "" if value is None else format(value, "f")


@cli.command()
@click.argument("symbol", required=False)
@pass_ctx
def stocks(c: Ctx, symbol: str | None) -> None:
    """Listed stocks with last price and day statistics (or one SYMBOL)."""
    client = c.client(auth=False)
    rows = [client.stock(symbol.upper())] if symbol else client.stocks()
    table = Table("symbol", "name", "last", "change %", "open", "high", "low", "volume")
    for s in rows:
        table.add_row(s.symbol, s.name, _d(s.last_price), _d(s.change_pct), _d(s.open), _d(s.high), _d(s.low),
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
        table.add_row(str(bid.orders) if bid else "", str(bid.qty) if bid else "", _d(bid.price) if bid else "",
                      _d(ask.price) if ask else "", str(ask.qty) if ask else "", str(ask.orders) if ask else "")
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


# ---------------------------------------------------------------------- account
@cli.command()
@click.argument("user_id", type=int, required=False)
@pass_ctx
def portfolio(c: Ctx, user_id: int | None) -> None:
    """Cash, buying power, equity and positions (yours, or USER_ID's for an instructor)."""
    p = c.need_login().portfolio(user_id)
    if c.as_json:
        c.emit(p)
        return
    c.out.print(f"user {p.user_id}{f' ({p.name})' if p.name else ''}: cash {_d(p.cash)}, reserved "
                f"{_d(p.reserved_cash)}, buying power {_d(p.buying_power)}, equity {_d(p.equity)}, realized P&L "
                f"{_d(p.realized_pl)}, unrealized P&L {_d(p.unrealized_pl)}")
    table = Table("symbol", "qty", "reserved", "avg cost", "last", "market value", "unrealized P&L")
    for pos in p.positions:
        table.add_row(pos.symbol, str(pos.qty), str(pos.reserved_qty), _d(pos.avg_cost), _d(pos.last_price),
                      _d(pos.market_value), _d(pos.unrealized_pl))
    c.out.print(table)


@cli.command()
@click.option("--limit", type=int)
@pass_ctx
def leaderboard(c: Ctx, limit: int | None) -> None:
    """Traders ranked by equity."""
    rows = c.need_login().leaderboard(limit)
    table = Table("rank", "user", "name", "equity", "return %", "realized P&L", "unrealized P&L")
    for r in rows:
        table.add_row(str(r.rank or ""), str(r.user_id), r.name, _d(r.equity), _d(r.return_pct), _d(r.realized_pl),
                      _d(r.unrealized_pl))
    c.emit(rows, table)


# ---------------------------------------------------------------------- orders
ORDER_COLUMNS = ("id", "symbol", "side", "type", "qty", "limit", "tif", "status", "filled", "avg price", "reason")


def _order_table(orders: Sequence[Order]) -> Table:
    table = Table(*ORDER_COLUMNS)
    for o in orders:
        table.add_row(str(o.id), o.symbol, o.side, o.type, str(o.qty), _d(o.limit_price), o.time_in_force, o.status,
                      str(o.filled_qty), _d(o.filled_avg_price), o.reject_reason or "")
    return table


@cli.command()
@click.argument("symbol")
@click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))
@click.argument("qty", type=int)
@click.argument("price", required=False)
@click.option("--type", "order_type", type=click.Choice(["limit", "market"]),
              help="default: limit with a PRICE, market without")
@click.option("--tif", "time_in_force", type=click.Choice(["day", "gtc", "ioc", "fok"]))
@click.option("--client-order-id", help="idempotency key (generated when not given)")
@click.option("--user-id", type=int, help="instructor: place for this user")
@click.option("--wait/--no-wait", default=False, help="wait until matching has seen the order")
@pass_ctx
def place(c: Ctx, symbol: str, side: str, qty: int, price: str | None, order_type: str | None,
          time_in_force: str | None, client_order_id: str | None, user_id: int | None, wait: bool) -> None:
    """Place an order: SYMBOL buy|sell QTY [PRICE]."""
    client = c.need_login()
    order = client.place_order(symbol.upper(), side.lower(), qty, price, type=order_type,
                               time_in_force=time_in_force, client_order_id=client_order_id, user_id=user_id)
    if wait:
        order = client.wait_order(order.id)
    c.emit(order, _order_table([order]))


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
    c.emit(orders, _order_table(orders) if orders else "no open orders")


@cli.command()
@click.option("--status", type=click.Choice(["all", "open", "closed"]), default="all", show_default=True)
@click.option("--symbol")
@click.option("--user-id", type=int, help="instructor: this user's orders")
@click.option("--limit", type=int)
@pass_ctx
def orders(c: Ctx, status: str, symbol: str | None, user_id: int | None, limit: int | None) -> None:
    """Your orders, newest first."""
    rows = c.need_login().orders(status, symbol.upper() if symbol else None, user_id, limit)
    c.emit(rows, _order_table(rows))


@cli.command()
@click.argument("order_id", type=int)
@pass_ctx
def order(c: Ctx, order_id: int) -> None:
    """One order with its status history."""
    o = c.need_login().order(order_id)
    if c.as_json:
        c.emit(o)
        return
    c.out.print(_order_table([o]))
    for h in o.history or []:
        c.out.print(f"  {h.extra.get('at', '')} {h.status} {h.extra.get('detail') or ''}".rstrip())


# ---------------------------------------------------------------------- watch
def _describe(ev: StreamEvent) -> str:
    d = ev.data
    if ev.name == "order":
        return (f"order {d.id} {d.symbol} {d.side} {d.qty} {d.type} {_d(d.limit_price)} -> {d.status} "
                f"(filled {d.filled_qty}{' @ ' + _d(d.filled_avg_price) if d.filled_avg_price else ''})")
    if ev.name == "portfolio":
        return f"portfolio user {d.user_id}: cash {_d(d.cash)}, buying power {_d(d.buying_power)}, equity {_d(d.equity)}"
    if ev.name == "price":
        return f"price {d.symbol} {_d(d.last_price)} ({_d(d.change_pct)} %), volume {d.volume}"
    if ev.name == "trade":
        return f"trade {d.symbol} {d.qty} @ {_d(d.price)} (seq {d.seq})"
    if ev.name == "book":
        bid = f"{d.bids[0].qty} @ {_d(d.bids[0].price)}" if d.bids else "-"
        ask = f"{d.asks[0].qty} @ {_d(d.asks[0].price)}" if d.asks else "-"
        return f"book {d.symbol} bid {bid} / ask {ask} (seq {d.seq})"
    if ev.name == "market":
        return f"market {d.status}"
    return f"{ev.name} {ev.raw}"


@cli.command()
@click.option("--symbol", "symbols", multiple=True, help="watch this symbol's prices, trades and book (repeatable)")
@click.option("--public", is_flag=True, help="do not use the login (no order/portfolio pushes)")
@click.option("--count", type=int, help="stop after this many events")
@click.option("--seconds", type=float, help="stop after this long")
@pass_ctx
def watch(c: Ctx, symbols: tuple[str, ...], public: bool, count: int | None, seconds: float | None) -> None:
    """Print live events (your orders and portfolio, and --symbol's market data) until Ctrl-C."""
    token = None if public else c.client().token
    wanted = [s.upper() for s in symbols]
    stream = Stream(c.url, token, events=EVENTS)
    try:
        if wanted:
            stream.subscribe(wanted)
        who = f"user {c.config.user['id']}" if token and c.config.user else "anonymous"
        click.echo(f"watching {', '.join(wanted) or 'no symbols'} as {who} at {c.url} (Ctrl-C stops)", err=True)
        deadline = time.monotonic() + seconds if seconds else None
        seen = 0
        while count is None or seen < count:
            left = deadline - time.monotonic() if deadline else 1.0
            if deadline and left <= 0:
                break
            ev = stream.get(timeout=min(left, 1.0))
            if ev is None:
                continue
            seen += 1
            stamp = time.strftime("%H:%M:%S", time.localtime(ev.received_at))
            if c.as_json:
                click.echo(json.dumps({"event": ev.name, "data": ev.raw}), nl=True)
            else:
                c.out.print(f"{stamp} {_describe(ev)}")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()


# ---------------------------------------------------------------------- load
@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--concurrency", "-c", type=click.IntRange(1, 64), default=4, show_default=True,
              help="requests in flight at once (different users' orders)")
@click.option("--batch-size", "-b", type=click.IntRange(1, MAX_BATCH), default=100, show_default=True,
              help="orders per request; >1 uses POST /api/orders/batch")
@click.option("--dry-run", is_flag=True, help="check the file, send nothing")
@click.option("--as-instructor", is_flag=True,
              help="send every order with the logged-in instructor's token and its user_id (no per-user logins)")
@click.option("--show-errors", type=int, default=20, show_default=True, help="lines with errors to list")
@click.option("--retries", type=int, default=3, show_default=True)
@pass_ctx
def load(c: Ctx, file: Path, concurrency: int, batch_size: int, dry_run: bool, as_instructor: bool,
         show_errors: int, retries: int) -> None:
    """Send the orders in FILE (CSV with a header row, or JSON lines), then report
    accepted, rejected by reason, orders/s and latency percentiles."""
    lines, bad = read_orders(file)
    result = LoadResult(lines=len(lines) + len(bad))
    for e in bad:  # "file:" marks what the file got wrong (never sent), as "login:" marks failed logins
        result.rejected[f"file:{e.code}"] += 1
        result.errors.append(LineError(e.number, f"file:{e.code}", e.message, e.field))
    if dry_run:
        summary = {"lines": result.lines, "valid": len(lines), "invalid": len(bad),
                   "users": sorted({ln.request.user_id for ln in lines if ln.request.user_id is not None}),
                   "errors": result.to_json()["errors"]}
        if c.as_json:
            c.emit(summary)
        else:
            c.out.print(f"{file}: {result.lines} orders, {len(lines)} valid, {len(bad)} invalid; nothing sent")
            _print_errors(c, result, show_errors)
        sys.exit(1 if bad else 0)

    client = c.client()
    if as_instructor and (client.user is None or client.user.role != "instructor"):
        raise click.ClickException("--as-instructor needs an instructor login")
    progress = Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                        TimeElapsedColumn(), console=c.err, disable=c.as_json, transient=False)
    started = time.perf_counter()
    with progress:
        task = progress.add_task("load", total=len(lines), rate="")
        lock = threading.Lock()
        done = [0]

        def advance(n: int) -> None:
            with lock:
                done[0] += n
                rate = done[0] / max(time.perf_counter() - started, 1e-6)
            progress.update(task, advance=n, rate=f"{rate:,.0f} orders/s")

        send_orders(c.url, lines, token=client.token, instructor=as_instructor, concurrency=concurrency,
                    batch_size=batch_size, result=result, progress=advance, retries=retries)
    if c.as_json:
        c.emit(result.to_json())
        return
    _print_summary(c, result, batch_size)
    _print_errors(c, result, show_errors)


def _print_summary(c: Ctx, r: LoadResult, batch_size: int) -> None:
    table = Table("", "", title="load summary", show_header=False)
    table.add_row("lines", str(r.lines))
    table.add_row("accepted", str(r.accepted))
    if r.repeated:
        table.add_row("repeated (earlier order returned)", str(r.repeated))
    table.add_row("rejected", str(sum(r.rejected.values())))
    for code, n in sorted(r.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(f"  {code}", str(n))
    table.add_row("elapsed", f"{r.elapsed:.2f} s")
    table.add_row("orders/s", f"{r.orders_per_s:,.0f}")
    unit = "request" if batch_size == 1 else f"request (batches of up to {batch_size})"
    table.add_row("requests", f"{r.requests}" + (f" ({r.retries} retries)" if r.retries else ""))
    for p in (50, 95, 99):
        v = r.percentile_ms(p)
        table.add_row(f"latency p{p} per {unit}", f"{v:.1f} ms" if v is not None else "-")
    c.out.print(table)


def _print_errors(c: Ctx, r: LoadResult, show: int) -> None:
    errors = sorted(r.errors, key=lambda e: e.number)
    for e in errors[:show]:
        c.out.print(f"line {e.number}: {e.code}: {e.message}" + (f" (field {e.field})" if e.field else ""))
    if len(errors) > show:
        c.out.print(f"... and {len(errors) - show} more")


@cli.command("gen-orders")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--count", "-n", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--users", help="user ids, comma-separated (default: every trader on the server)")
@click.option("--symbols", help="symbols, comma-separated (default: every listed stock)")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--new-traders", type=click.IntRange(2, 500),
              help="instructor: create this many traders with --cash and --shares of each symbol, and use them")
@click.option("--cash", default="1000000.00", show_default=True, help="with --new-traders")
@click.option("--shares", type=click.IntRange(0), default=10_000, show_default=True, help="with --new-traders")
@pass_ctx
def gen_orders(c: Ctx, out: Path, count: int, users: str | None, symbols: str | None, seed: int,
               new_traders: int | None, cash: str, shares: int) -> None:
    """Write COUNT crossing limit orders to OUT (.csv or .jsonl) for `papertrade load`.
    Reads the traders and reference prices from the server. Each user's orders stay
    in flight a batch at a time, so a big batch needs traders with the cash and
    shares for it: --new-traders creates such traders (the demo class has $100,000
    and 50-100 shares each)."""
    client = c.client(auth=False)
    wanted = {s.strip().upper() for s in symbols.split(",") if s.strip()} if symbols else None
    prices = {s.symbol: s.reference_price for s in client.stocks() if wanted is None or s.symbol in wanted}
    if wanted and wanted - set(prices):
        raise click.ClickException(f"not listed: {', '.join(sorted(wanted - set(prices)))}")
    if new_traders:
        boss = c.need_login()
        run = time.strftime("%Y%m%d%H%M%S")
        user_ids = [boss.create_user(f"load-{run}-{i}", "trader", cash, {s: shares for s in prices}).id
                    for i in range(1, new_traders + 1)]
    elif users:
        user_ids = [int(u) for u in users.split(",") if u.strip()]
    else:
        user_ids = [u.id for u in client.users() if u.role == "trader"]
    try:
        rows = gen.generate(count, user_ids, prices, seed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    with out.open("w", newline="") as f:
        gen.write(rows, f, gen.format_for(out))
    c.out.print(f"wrote {len(rows)} orders for users {', '.join(map(str, user_ids))} on "
                f"{', '.join(sorted(prices))} to {out}")


if __name__ == "__main__":
    main()
