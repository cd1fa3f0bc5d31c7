"""The runner: turns the agents' intended actions into REST calls through the
gateway, as bot users (role `bot`), once per tick on one thread.

Only an instructor's start (or a restart of this process while the stored flag
says "running") makes it trade; stop ends the loop and cancels the bots' open
orders. Bot users are created through POST /api/users on first need; their
tokens (and, when no request is at hand, the starting instructor's) are signed
here with the shared key, like every service can (docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from service_runtime.auth import issue_token
from service_runtime.config import Settings
from service_runtime.db import Database
from service_runtime.web import ApiError

from . import store
from .agents import (
    KINDS,
    Agent,
    Cancel,
    FairValue,
    Market,
    MarketMaker,
    Observation,
    OpenOrder,
    Place,
    derive_seed,
)
from .config import BotConfig, RunnerSettings
from .public_api import ApiCallError, PublicApi

log = logging.getLogger("papertrade.house_bots")

KIND_NAMES = {"market_makers": "market_maker", "noise_traders": "noise_trader",
              "momentum_traders": "momentum_trader", "value_traders": "value_trader"}
LABELS = {"market_maker": "MM", "noise_trader": "Noise", "momentum_trader": "Momentum", "value_trader": "Value"}
# What a bot user starts with: cash, and shares worth about this much per symbol.
STARTING_CASH = {"market_maker": Decimal("1000000.00"), "noise_trader": Decimal("100000.00"),
                 "momentum_trader": Decimal("100000.00"), "value_trader": Decimal("200000.00")}
SHARES_VALUE = {"market_maker": Decimal("100000"), "noise_trader": Decimal("10000"),
                "momentum_trader": Decimal("10000"), "value_trader": Decimal("20000")}
HISTORY = 60
MARKET_REFUSALS = ("market_halted", "market_closed")
TOKEN_TTL = 24 * 3600


class BotsUnavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(502, "bots_unavailable", message)


@dataclass
class Bot:
    user_id: int
    name: str
    kind: str
    slot: int
    holdings: dict[str, int]
    api: PublicApi
    agent: Agent | None = None
    orders_sent: int = 0
    rejected: int = 0
    last_error: str | None = None
    pending: dict[int, float] = field(default_factory=dict)  # order id -> placed at (monotonic)

    def public(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "name": self.name, "kind": self.kind, "orders_sent": self.orders_sent,
                "rejected": self.rejected, "last_error": self.last_error}


def _age(created_at: Any) -> float:
    if not isinstance(created_at, str):
        return 0.0
    try:
        return max(0.0, time.time() - datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0.0


class BotEngine:
    def __init__(self, database: Database, settings: Settings, runner: RunnerSettings) -> None:
        self.db = database
        self.settings = settings
        self.runner = runner
        self.control = threading.RLock()  # start/stop/apply one at a time
        self.bots: list[Bot] = []
        self.fair: dict[str, FairValue] = {}
        self.references: dict[str, Decimal] = {}
        self.history: dict[str, deque[Decimal]] = {}
        self.config: BotConfig | None = None
        self.seed = 0
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()  # ends the current loop
        self._shutdown = threading.Event()  # the process is ending
        self._epoch = 1
        self._market_wait_until = 0.0
        self._market_backoff = 2.0
        self._reader = PublicApi(runner.gateway_url)  # the loop's anonymous session (prices, books, market)

    # ----------------------------------------------------------------- tokens
    def _refresh_epoch(self) -> None:
        """The epoch bot tokens are signed with: the current one, never below the floor a
        revoking reset set (GET /api/simulation is public, so no token is needed to read it)."""
        try:
            self._epoch = int(PublicApi(self.runner.gateway_url).simulation()["epoch"])
        except (ApiCallError, KeyError, TypeError, ValueError):
            self._epoch = 1  # no simulation endpoint (yet): tokens carry the first epoch

    def _token(self, user_id: int, role: str, name: str) -> str:
        return issue_token(self.settings.secret_key, user_id, role, name, self._epoch, TOKEN_TTL)[0]

    def _admin(self, instructor_id: int, admin: PublicApi | None) -> PublicApi:
        """The caller's own session when there is one, else a token signed for the
        instructor who started the bots."""
        self._refresh_epoch()
        if admin is not None:
            return admin
        return PublicApi(self.runner.gateway_url, self._token(instructor_id, "instructor", "house_bots"))

    # ----------------------------------------------------------------- status
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def status(self) -> dict[str, Any]:
        with self.db.read() as conn:
            state = store.load_runner(conn)
            users = store.active_bot_users(conn)
        live = {b.user_id: b for b in self.bots}
        counts = state["config"].counts()
        active = [u for u in users if u["slot"] <= counts.get(_plural(u["kind"]), 0)]
        bots = [live[u["user_id"]].public() if u["user_id"] in live else
                {"user_id": u["user_id"], "name": u["name"], "kind": u["kind"], "orders_sent": 0, "rejected": 0,
                 "last_error": None} for u in active]
        return {"running": state["running"], "config": state["config"].to_json(), "bots": bots,
                "started_at": state["started_at"].isoformat() if state["started_at"] else None}

    # ----------------------------------------------------------------- control
    def start(self, config: BotConfig, instructor_id: int, admin: PublicApi | None = None) -> None:
        """Prepare synchronously (so the caller hears of a failure), then run the loop."""
        with self.control:
            self._restart_with(config, self._admin(instructor_id, admin))
            with self.db.transaction() as conn:
                store.save_runner(conn, config, running=True, started_by=instructor_id)

    def apply(self, config: BotConfig, instructor_id: int, admin: PublicApi | None = None) -> None:
        """A new config while running: the loop restarts with it; fair values go on from where they are."""
        with self.control:
            if self.running:
                self._restart_with(config, self._admin(instructor_id, admin))

    def _restart_with(self, config: BotConfig, admin: PublicApi) -> None:
        """Stop the loop, prepare the new config, run again. When preparing fails,
        bots that were running go on as they were, and the error reaches the caller."""
        was_running = self.running
        self._stop_loop()
        try:
            self._prepare(config, admin)
        except Exception:
            if was_running:
                self._start_loop()
            raise
        self._start_loop()

    def stop(self) -> None:
        with self.control:
            self._stop_loop()
            with self.db.transaction() as conn:
                state = store.load_runner(conn)
                store.save_runner(conn, state["config"], running=False)
            self._cancel_all(self.bots)

    def resume(self) -> None:
        """At process start: if the stored flag says running, go on (retrying until the exchange answers)."""
        with self.db.read() as conn:
            state = store.load_runner(conn)
        if not state["running"] or state["started_by"] is None:
            return

        def attempt() -> None:
            delay = 1.0
            while not self._shutdown.is_set():
                try:
                    with self.control:
                        with self.db.read() as conn:
                            current = store.load_runner(conn)
                        if self.running or not current["running"]:
                            return  # an instructor started or stopped them meanwhile
                        self._prepare(current["config"], self._admin(current["started_by"], None))
                        self._start_loop()
                    log.info("house_bots: resumed %d bots", len(self.bots))
                    return
                except (ApiCallError, ApiError) as exc:
                    log.warning("house_bots: cannot resume yet: %s", exc)
                    self._shutdown.wait(delay)
                    delay = min(delay * 2, 10.0)

        threading.Thread(target=attempt, daemon=True, name="house-bots-resume").start()

    def shutdown(self) -> None:
        self._shutdown.set()
        self._stop_loop()

    def _start_loop(self) -> None:
        self._halt.clear()
        self._market_wait_until = 0.0
        self._thread = threading.Thread(target=self._loop, daemon=True, name="house-bots")
        self._thread.start()

    def _stop_loop(self) -> None:
        self._halt.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)
        self._thread = None

    # ----------------------------------------------------------------- preparing
    def _prepare(self, config: BotConfig, admin: PublicApi) -> None:
        try:
            stocks = {s["symbol"]: s for s in admin.stocks()}
        except ApiCallError as exc:
            raise BotsUnavailable(f"cannot reach the exchange at {self.runner.gateway_url}: {exc.message}") from exc
        if config.symbols is None:
            symbols = sorted(stocks)
        else:
            unknown = [s for s in config.symbols if s not in stocks]
            if unknown:
                raise ApiError(422, "unknown_symbol", f"{unknown[0]} is not listed", field="symbols")
            symbols = list(config.symbols)
        if not symbols:
            raise ApiError(409, "no_stocks", "no stock is listed: list one first")
        seed = config.fair_value.seed if config.fair_value.seed is not None else random.SystemRandom().randrange(2**31)
        references = {s: Decimal(str(stocks[s]["reference_price"])) for s in symbols}
        last = {s: Decimal(str(stocks[s]["last_price"])) for s in symbols}
        fv = config.fair_value
        fair: dict[str, FairValue] = {}
        for symbol in symbols:
            current = self.fair.get(symbol)
            if current is not None and current.reference == references[symbol] and seed == self.seed:
                current.retune(fv.volatility_pct, fv.drift_pct, fv.reversion_pct)
                fair[symbol] = current
            else:
                fair[symbol] = FairValue(references[symbol], fv.volatility_pct, fv.drift_pct, fv.reversion_pct,
                                         derive_seed(seed, "fv", symbol), value=last[symbol])
        bots = self._ensure_bots(config, symbols, references, admin)
        for bot in bots:
            bot.agent = _make_agent(bot, config, seed, symbols)
        previous = {b.user_id for b in bots}
        self._cancel_all([b for b in self.bots if b.user_id not in previous])
        self.bots, self.fair, self.config, self.seed, self.references = bots, fair, config, seed, references
        self.history = {s: self.history.get(s, deque(maxlen=HISTORY)) for s in symbols}

    def _ensure_bots(self, config: BotConfig, symbols: list[str], references: dict[str, Decimal],
                     admin: PublicApi) -> list[Bot]:
        """The bot user of each slot; a new one when the slot has none, or has no shares in a traded symbol."""
        with self.db.read() as conn:
            existing = {(u["kind"], u["slot"]): u for u in store.active_bot_users(conn)}
            taken = store.bot_names(conn)
        known = {b.user_id: b for b in self.bots}
        bots: list[Bot] = []
        for plural, count in config.counts().items():
            kind = KIND_NAMES[plural]
            for slot in range(1, count + 1):
                row = existing.get((kind, slot))
                if row is not None and not set(symbols) <= set(row["holdings"]):
                    self._retire(row)
                    row = None
                if row is None:
                    row = self._create_bot_user(kind, slot, symbols, references, admin, taken)
                bot = known.get(row["user_id"])
                if bot is None:
                    bot = Bot(row["user_id"], row["name"], kind, slot, dict(row["holdings"]),
                              PublicApi(self.runner.gateway_url))
                bot.api.set_token(self._token(bot.user_id, "bot", bot.name))
                bots.append(bot)
        return bots

    def _create_bot_user(self, kind: str, slot: int, symbols: list[str], references: dict[str, Decimal],
                         admin: PublicApi, taken: set[str]) -> dict[str, Any]:
        holdings = {s: max(1, int(SHARES_VALUE[kind] / references[s])) for s in symbols}
        cash = STARTING_CASH[kind]
        base = f"House {LABELS[kind]} {slot}"
        for n in range(1, 50):
            name = base if n == 1 else f"{base} v{n}"
            if name in taken:
                continue
            try:
                user = admin.create_user(name, "bot", cash, holdings)
            except ApiCallError as exc:
                if exc.status == 409:
                    taken.add(name)
                    continue
                raise BotsUnavailable(f"cannot create bot user {name!r}: {exc}") from exc
            with self.db.transaction() as conn:
                store.add_bot_user(conn, user["id"], name, kind, slot, cash, holdings)
            taken.add(name)
            log.info("house_bots: created bot user %s (%d)", name, user["id"])
            return {"user_id": user["id"], "name": name, "kind": kind, "slot": slot, "holdings": holdings}
        raise BotsUnavailable(f"no free name for {base}")

    def _retire(self, row: dict[str, Any]) -> None:
        api = PublicApi(self.runner.gateway_url, self._token(row["user_id"], "bot", row["name"]))
        with contextlib.suppress(ApiCallError):
            api.cancel_all()
        with self.db.transaction() as conn:
            store.retire_bot_user(conn, row["user_id"])

    def _cancel_all(self, bots: list[Bot]) -> None:
        for bot in bots:
            try:
                try:
                    bot.api.cancel_all()
                except ApiCallError as exc:
                    if exc.status != 401:
                        raise
                    # a reset revoked the token (docs/decisions.md): sign one of the new epoch
                    self._refresh_epoch()
                    bot.api.set_token(self._token(bot.user_id, "bot", bot.name))
                    bot.api.cancel_all()
            except ApiCallError as exc:
                bot.last_error = str(exc)

    # ----------------------------------------------------------------- the loop
    def _loop(self) -> None:
        tick = float(self.runner.tick_seconds)
        log.info("house_bots: trading %s with %d bots (seed %d)", ",".join(self.fair), len(self.bots), self.seed)
        next_at = time.monotonic()
        while not self._halt.is_set():
            try:
                self.tick(self.runner.tick_seconds)
            except Exception:  # noqa: BLE001 - one bad turn must not end the bots; it is logged
                log.exception("house_bots: tick failed")
            next_at += tick
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()
                delay = 0
            self._halt.wait(delay)

    def tick(self, dt: Decimal) -> None:
        for fv in self.fair.values():
            fv.step(dt)
        markets = self._markets()
        if markets is None:
            return
        trading = time.monotonic() >= self._market_wait_until or self._market_reopened()
        for bot in self.bots:
            if self._halt.is_set():
                return
            try:
                self._turn(bot, markets, dt, trading)
            except ApiCallError as exc:
                bot.last_error = str(exc)
                if exc.status == 401:
                    self._refresh_epoch()
                    bot.api.set_token(self._token(bot.user_id, "bot", bot.name))
            except Exception as exc:  # noqa: BLE001 - an unexpected answer costs this bot its turn, not the others
                bot.last_error = f"internal: {exc}"
                log.exception("house_bots: %s's turn failed", bot.name)

    def _markets(self) -> dict[str, Market] | None:
        reader = self._reader
        try:
            stocks = {s["symbol"]: s for s in reader.stocks()}
        except ApiCallError as exc:
            log.warning("house_bots: cannot read prices: %s", exc)
            return None
        markets = {}
        for symbol, fv in self.fair.items():
            stock = stocks.get(symbol)
            if stock is None:
                continue  # delisted: not traded any more
            last = Decimal(str(stock["last_price"]))
            self.history[symbol].append(last)
            try:
                book = reader.book(symbol, 1)
            except ApiCallError:
                book = {"bids": [], "asks": []}
            bid = Decimal(str(book["bids"][0]["price"])) if book.get("bids") else None
            ask = Decimal(str(book["asks"][0]["price"])) if book.get("asks") else None
            markets[symbol] = Market(last, fv.price, bid, ask, tuple(self.history[symbol]))
        return markets

    def _turn(self, bot: Bot, markets: dict[str, Market], dt: Decimal, trading: bool) -> None:
        open_rows = bot.api.orders("open", 1000)
        open_ids = {o["id"] for o in open_rows}
        self._settle_pending(bot, open_ids)
        if not trading or bot.agent is None:
            return
        portfolio = bot.api.portfolio(bot.user_id)
        positions = {p["symbol"]: int(p["qty"]) for p in portfolio["positions"]}
        free = {p["symbol"]: int(p["qty"]) - int(p["reserved_qty"]) for p in portfolio["positions"]}
        mine = tuple(
            OpenOrder(o["id"], o["symbol"], o["side"],
                      Decimal(str(o["limit_price"])) if o["limit_price"] is not None else None,
                      int(o["qty"]) - int(o["filled_qty"]), _age(o.get("created_at")),
                      live=o["status"] in ("new", "partially_filled"))
            for o in open_rows if o["status"] != "pending_cancel" and o["symbol"] in markets
        )
        obs = Observation(markets, Decimal(str(portfolio["buying_power"])), free, positions, mine, dt)
        actions = bot.agent.decide(obs)
        self._execute(bot, actions)

    def _execute(self, bot: Bot, actions: list[Any]) -> None:
        places = [a for a in actions if isinstance(a, Place)]
        refused_by_market = False
        if places and not self._halt.is_set():
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
            self._market_refusal(refused_by_market, len(results) > 0)
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

    def _market_refusal(self, refused: bool, sent: bool) -> None:
        """Refused because the market is not open: every bot waits, longer each time
        (like a polite script), instead of sending orders that cannot be taken."""
        if refused:
            self._market_wait_until = time.monotonic() + self._market_backoff
            self._market_backoff = min(self._market_backoff * 2, 60.0)
        elif sent:
            self._market_backoff = 2.0

    def _market_reopened(self) -> bool:
        """While waiting after a refusal, one cheap look per tick: trade again as
        soon as the market is open rather than at the end of the wait."""
        try:
            open_now = self._reader.market()["status"] == "open"
        except (ApiCallError, KeyError, TypeError):
            return False
        if open_now:
            self._market_wait_until = 0.0
        return open_now

    def _settle_pending(self, bot: Bot, open_ids: set[int]) -> None:
        """Orders placed earlier that are no longer open: count those the exchange rejected."""
        done = [oid for oid in bot.pending if oid not in open_ids]
        if not done:
            return
        closed = {o["id"]: o for o in bot.api.orders("closed", 500)}
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


def _plural(kind: str) -> str:
    return next(p for p, k in KIND_NAMES.items() if k == kind)


def _make_agent(bot: Bot, config: BotConfig, seed: int, symbols: list[str]) -> Agent:
    cls = KINDS[_plural(bot.kind)]
    agent_seed = derive_seed(seed, bot.kind, bot.slot)
    if cls is MarketMaker:
        return MarketMaker(agent_seed, config.aggressiveness,
                           target_inventory={s: bot.holdings.get(s, 0) for s in symbols})
    return cls(agent_seed, config.aggressiveness)
