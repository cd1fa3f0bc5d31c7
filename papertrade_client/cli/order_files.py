"""Commands for order files: `load` sends one (with a progress bar and a summary), `gen-orders` writes one."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import gen
from ..load import LineError, LoadResult, read_orders, send_orders
from ..orders import MAX_BATCH
from .app import Ctx, cli, pass_ctx


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
