"""The `watch` command: live pushes over Socket.IO, one line an event."""

from __future__ import annotations

import json
import sys
import time

import click

from ..stream import EVENTS, Stream, StreamEvent
from .app import Ctx, cli, pass_ctx, plain


def describe(ev: StreamEvent) -> str:
    d = ev.data
    if ev.name == "order":
        return (f"order {d.id} {d.symbol} {d.side} {d.qty} {d.type} {plain(d.limit_price)} -> {d.status} "
                f"(filled {d.filled_qty}{' @ ' + plain(d.filled_avg_price) if d.filled_avg_price else ''})")
    if ev.name == "portfolio":
        return f"portfolio user {d.user_id}: cash {plain(d.cash)}, buying power {plain(d.buying_power)}, equity {plain(d.equity)}"
    if ev.name == "price":
        return f"price {d.symbol} {plain(d.last_price)} ({plain(d.change_pct)} %), volume {d.volume}"
    if ev.name == "trade":
        return f"trade {d.symbol} {d.qty} @ {plain(d.price)} (seq {d.seq})"
    if ev.name == "book":
        bid = f"{d.bids[0].qty} @ {plain(d.bids[0].price)}" if d.bids else "-"
        ask = f"{d.asks[0].qty} @ {plain(d.asks[0].price)}" if d.asks else "-"
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
                c.out.print(f"{stamp} {describe(ev)}")
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()
