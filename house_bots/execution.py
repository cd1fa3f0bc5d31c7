"""Sending what the agents decided: a turn's orders in one batch, then its
cancels; keeping count of what the exchange rejected, now or later; and the
market gate that makes every bot wait while the market refuses orders."""

from __future__ import annotations

import threading
import time
from typing import Any

from .agents import Cancel, Place
from .public_api import ApiCallError, PublicApi
from .roster import Bot

MARKET_REFUSALS = ("market_halted", "market_closed")


class MarketGate:
    """Refused because the market is not open: every bot waits, longer each time
    (like a polite script), instead of sending orders that cannot be taken."""

    def __init__(self, reader: PublicApi) -> None:
        self.reader = reader
        self.wait_until = 0.0
        self.backoff = 2.0

    def is_open(self) -> bool:
        """Whether bots may trade this tick."""
        return time.monotonic() >= self.wait_until or self._reopened()

    def note(self, refused: bool, sent: bool) -> None:
        """The outcome of one batch: a market refusal starts (or lengthens) the wait."""
        if refused:
            self.wait_until = time.monotonic() + self.backoff
            self.backoff = min(self.backoff * 2, 60.0)
        elif sent:
            self.backoff = 2.0

    def _reopened(self) -> bool:
        """While waiting after a refusal, one cheap look per tick: trade again as
        soon as the market is open rather than at the end of the wait."""
        try:
            open_now = self.reader.market()["status"] == "open"
        except (ApiCallError, KeyError, TypeError):
            return False
        if open_now:
            self.wait_until = 0.0
        return open_now


def execute(bot: Bot, actions: list[Any], gate: MarketGate, halt: threading.Event) -> None:
    """Place `actions`' orders (unless the loop is halting), then send its cancels."""
    places = [a for a in actions if isinstance(a, Place)]
    refused_by_market = False
    if places and not halt.is_set():
        results = bot.api.place_batch([p.order_body() for p in places])
        bot.orders_sent += len(places)
        for result in results:
            error = result.get("error") if isinstance(result, dict) else None
            if error:
                bot.rejected += 1
                bot.last_error = f"{error.get('code')}: {error.get('message')}"
                refused_by_market |= error.get("code") in MARKET_REFUSALS
            else:
                bot.pending[result["id"]] = time.monotonic()
        gate.note(refused_by_market, len(results) > 0)
    if refused_by_market:
        # The new quotes were not taken (market halted or closed): keep the old
        # ones rather than leave that side of the book empty.
        return
    for action in actions:
        if isinstance(action, Cancel):
            try:
                bot.api.cancel(action.order_id)
            except ApiCallError as exc:
                if exc.status not in (404, 409):  # already final: lost a race with a fill
                    raise


def settle_pending(bot: Bot, open_ids: set[int]) -> None:
    """Orders placed earlier that are no longer open: count those the exchange rejected."""
    done = [oid for oid in bot.pending if oid not in open_ids]
    if not done:
        return
    # the newest closed orders are listed first; those that just closed are among them
    closed = {o["id"]: o for o in bot.api.orders("closed", max(50, 2 * len(done)))}
    now = time.monotonic()
    for oid in done:
        order = closed.get(oid)
        if order is not None:
            if order["status"] == "rejected":
                bot.rejected += 1
                bot.last_error = f"rejected: {order.get('reject_reason')}"
            del bot.pending[oid]
        elif now - bot.pending[oid] > 120:
            del bot.pending[oid]
