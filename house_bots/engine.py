"""The runner: turns the agents' intended actions into REST calls through the
gateway, as bot users (role `bot`), once per tick on one thread.

Only an instructor's start (or a restart of this process while the stored flag
says "running") makes it trade; stop ends the loop and cancels the bots' open
orders. Bot users are created through POST /api/users on first need; their
tokens (and, when no request is at hand, the starting instructor's) are signed
here with the shared key, like every service can (docs/decisions.md).

This module holds the control (start, apply, stop, resume) and the loop; the
bot users are in roster.py, what a bot sees in observation.py, and sending its
actions (with the market gate) in execution.py.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from decimal import Decimal
from typing import Any

from service_runtime.auth import issue_token
from service_runtime.config import Settings
from service_runtime.db import Database
from service_runtime.web import ApiError

from . import store
from .agents import FairValue, Market, derive_seed
from .config import BotConfig, RunnerSettings
from .execution import MarketGate, execute, settle_pending
from .observation import ClassView, observe, read_class, read_markets
from .public_api import ApiCallError, PublicApi, requests_made
from .roster import KIND_NAMES, Bot, BotsUnavailable, create_bot_user, make_agent, plural

log = logging.getLogger("papertrade.house_bots")
CLASS_SKIP_TICKS = 60

HISTORY = 60
TOKEN_TTL = 24 * 3600


class BotEngine:
    """The one runner of a process: its bots, their fair values and the loop thread."""

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
        self._reader = PublicApi(runner.endpoints)  # the loop's anonymous session (prices, books, market)
        self._watcher: PublicApi | None = None  # the loop's instructor session (every bot's orders, portfolios)
        self._instructor_id: int | None = None
        self._class_skip = 0  # ticks left before trying the class-wide read again
        self._gate = MarketGate(self._reader)

    # ----------------------------------------------------------------- tokens
    def _refresh_epoch(self) -> None:
        """The epoch bot tokens are signed with: the current one, never below the floor a
        revoking reset set (GET /api/simulation is public, so no token is needed to read it)."""
        try:
            self._epoch = int(PublicApi(self.runner.endpoints).simulation()["epoch"])
        except (ApiCallError, KeyError, TypeError, ValueError):
            self._epoch = 1  # no simulation endpoint (yet): tokens carry the first epoch

    def _token(self, user_id: int, role: str, name: str) -> str:
        return issue_token(self.settings.secret_key, user_id, role, name, self._epoch, TOKEN_TTL)[0]

    def _admin(self, instructor_id: int, admin: PublicApi | None) -> PublicApi:
        """The caller's own session when there is one, else a token signed for the
        instructor who started the bots."""
        self._refresh_epoch()
        self._instructor_id = instructor_id
        if admin is not None:
            return admin
        return PublicApi(self.runner.endpoints, self._token(instructor_id, "instructor", "house_bots"))

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
        active = [u for u in users if u["slot"] <= counts.get(plural(u["kind"]), 0)]
        bots = [live[u["user_id"]].public() if u["user_id"] in live else
                {"user_id": u["user_id"], "name": u["name"], "kind": u["kind"], "orders_sent": 0, "rejected": 0,
                 "last_error": None} for u in active]
        return {"running": state["running"], "config": state["config"].to_json(), "bots": bots,
                "started_at": state["started_at"].isoformat() if state["started_at"] else None,
                "requests": requests_made()}

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
        if self._instructor_id is not None:
            if self._watcher is not None:
                self._watcher.close()
            self._watcher = PublicApi(self.runner.endpoints,
                                      self._token(self._instructor_id, "instructor", "house_bots"))
            self._class_skip = 0
        self._halt.clear()
        self._gate.wait_until = 0.0
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
            raise BotsUnavailable(f"cannot reach the exchange at {self.runner.endpoints}: {exc.message}") from exc
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
            bot.agent = make_agent(bot, config, seed, symbols)
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
        for group, count in config.counts().items():
            kind = KIND_NAMES[group]
            for slot in range(1, count + 1):
                row = existing.get((kind, slot))
                if row is not None and not set(symbols) <= set(row["holdings"]):
                    self._retire(row)
                    row = None
                if row is None:
                    row = create_bot_user(self.db, admin, kind, slot, symbols, references, taken)
                bot = known.get(row["user_id"])
                if bot is None:
                    bot = Bot(row["user_id"], row["name"], kind, slot, dict(row["holdings"]),
                              PublicApi(self.runner.endpoints))
                bot.api.set_token(self._token(bot.user_id, "bot", bot.name))
                bots.append(bot)
        return bots

    def _retire(self, row: dict[str, Any]) -> None:
        api = PublicApi(self.runner.endpoints, self._token(row["user_id"], "bot", row["name"]))
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
        markets = read_markets(self._reader, self.fair, self.history)
        if markets is None:
            return
        trading = self._gate.is_open()
        view = self._class_view()
        for bot in self.bots:
            if self._halt.is_set():
                return
            try:
                self._turn(bot, markets, dt, trading, view)
            except ApiCallError as exc:
                bot.last_error = str(exc)
                if exc.status == 401:
                    self._refresh_epoch()
                    bot.api.set_token(self._token(bot.user_id, "bot", bot.name))
            except Exception as exc:  # noqa: BLE001 - an unexpected answer costs this bot its turn, not the others
                bot.last_error = f"internal: {exc}"
                log.exception("house_bots: %s's turn failed", bot.name)

    def _class_view(self) -> ClassView | None:
        """Every bot's open orders and portfolio in two reads per tick; None (each bot
        reads its own) when that is not possible."""
        watcher = self._watcher
        if watcher is None:
            return None
        if self._class_skip > 0:  # the class had more open orders than a page: bot by bot for a while
            self._class_skip -= 1
            return None
        try:
            view = read_class(watcher, {bot.user_id for bot in self.bots})
            if view is None:
                self._class_skip = CLASS_SKIP_TICKS
            return view
        except ApiCallError as exc:
            log.warning("house_bots: reading the class at once: %s", exc)
            if exc.status == 401 and self._instructor_id is not None:
                self._refresh_epoch()
                watcher.set_token(self._token(self._instructor_id, "instructor", "house_bots"))
            return None

    def _turn(self, bot: Bot, markets: dict[str, Market], dt: Decimal, trading: bool,
              view: ClassView | None = None) -> None:
        open_rows = view.open_orders.get(bot.user_id) if view else None
        if open_rows is None:
            open_rows = bot.api.orders("open", 1000)
        settle_pending(bot, {o["id"] for o in open_rows})
        if not trading or bot.agent is None:
            return
        portfolio = view.portfolios.get(bot.user_id) if view else None
        obs = observe(open_rows, portfolio or bot.api.portfolio(bot.user_id), markets, dt)
        execute(bot, bot.agent.decide(obs), self._gate, self._halt)
