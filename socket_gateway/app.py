"""The gateway: the single origin at PAPERTRADE_PORT.

/socket.io/ -> Socket.IO (Flask-SocketIO under gevent): live pushes
/api/...    -> the owning service (proxy.py, routing.py)
/healthz    -> the gateway's own health (and whether its event feed is connected)
/           -> the built front end (frontend/dist), index.html for client routes
"""

from __future__ import annotations

import json
import logging
import mimetypes
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_socketio import SocketIO, join_room, leave_room
from socketio.exceptions import ConnectionRefusedError as Refused  # its message reaches the client

from service_runtime import jsonio, metrics
from service_runtime.auth import InvalidToken, issue_token, verify_token
from service_runtime.config import Settings
from service_runtime.contracts import Envelope, LeaderboardUpdated, SimulationReset, TradeExecuted
from service_runtime.identifiers import is_symbol
from service_runtime.revocation import REVOKED_MESSAGE
from service_runtime.throttle import Throttle

from .consumer import EventFeed
from .docs import ApiDocs
from .executions import OrderTracker
from .proxy import ApiProxy
from .push import (
    INSTRUCTORS,
    LEADERBOARD_INTERVAL,
    PUSHES,
    TRADERS,
    Push,
    symbol_room,
    user_room,
)
from .routing import owner_of
from .sessions import SocketSessions

FRONTEND_DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
MAX_SUBSCRIPTIONS = 200
log = logging.getLogger("papertrade.gateway")

HTTP_REQUESTS = metrics.REGISTRY.counter("papertrade_http_requests_total", "HTTP requests answered")
HTTP_SECONDS = metrics.REGISTRY.histogram("papertrade_http_request_seconds", "Time to answer an HTTP request")
SOCKETS = metrics.REGISTRY.gauge("papertrade_gateway_sockets", "Socket.IO clients connected to this gateway")
ORDER_LATENCY = metrics.REGISTRY.histogram(
    "papertrade_order_latency_seconds",
    "From an order's acceptance at the door to its first outcome (booked, filled, canceled, rejected) "
    "pushed by this gateway")


class Gateway:
    """Plain WSGI for everything but Socket.IO: no Flask work on the /api hot path."""

    def __init__(self, settings: Settings, static_root: Path = FRONTEND_DIST,
                 health: Callable[[], dict[str, Any]] | None = None) -> None:
        self.settings = settings
        self.api = ApiProxy(settings)
        self.docs = ApiDocs()
        self.static_root = static_root
        self.health = health or (lambda: {})

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path.startswith("/api/"):
            if self.docs.handles(path):
                return self.docs(environ, start_response)
            started = time.perf_counter()
            seen: list[str] = []

            def record(status: str, headers: list, exc_info: Any = None) -> Any:
                seen.append(status.split(" ", 1)[0])
                return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

            body = self.api(environ, record)
            HTTP_REQUESTS.inc(process="gateway", method=environ.get("REQUEST_METHOD", ""),
                              route=owner_of(path) or "none", status=seen[0] if seen else "")
            HTTP_SECONDS.observe(time.perf_counter() - started, process="gateway", route=owner_of(path) or "none")
            return body
        if path == "/metrics":
            data = metrics.REGISTRY.render().encode()
            start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE), ("Content-Length", str(len(data)))])
            return [data]
        if path == "/healthz":
            # 503 while its event feed is not connected to RabbitMQ: no live pushes (the API
            # proxy still answers, and clients refresh over REST); it reconnects by itself
            detail = self.health()
            ok = detail.get("feed_connected", True)
            report: dict[str, Any] = {"status": "ok" if ok else "unavailable", "service": "socket_gateway",
                                      "broker": "connected" if ok else "disconnected", **detail}
            if not ok:
                report["message"] = ("event feed not connected to RabbitMQ, reconnecting by itself: no live "
                                     "pushes meanwhile (the REST API still answers; screens refresh over it)")
            body = json.dumps(report).encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return self.static(path, start_response)

    def static(self, path: str, start_response: Callable) -> Iterable[bytes]:
        root = self.static_root.resolve()
        target = (root / path.lstrip("/")).resolve()
        if not str(target).startswith(str(root)) or not target.is_file():
            # Client-side routes fall back to the app shell.
            target = root / "index.html"
        if not target.is_file():
            body = b"papertrade: the front end is not built (npm run build in frontend/). The API is at /api/."
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        data = target.read_bytes()
        ctype = mimetypes.guess_type(str(target))[0] or "application/octet-stream"
        cache = "no-cache" if target.name == "index.html" else "public, max-age=31536000, immutable"
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(data))),
                                  ("Cache-Control", cache), ("X-Content-Type-Options", "nosniff")])
        return [data]


def _later(delay: float, fn: Callable[[], None]) -> None:
    time.sleep(delay)  # gevent-patched: yields to other greenlets
    fn()


def _time_outcome(envelope: Envelope, tracker: OrderTracker) -> None:
    """Order latency: an order the tracker still holds as pending_new reaches its first
    outcome (booked, traded, canceled, rejected): timed once per order."""
    event = envelope.event
    ids = ((event.buy_order_id, event.sell_order_id) if isinstance(event, TradeExecuted)
           else (getattr(event, "order_id", None),) if envelope.type in OUTCOMES else ())
    for order_id in ids:
        known = tracker.order(order_id) if order_id is not None else None
        if known is not None and known["status"] == "pending_new":
            ORDER_LATENCY.observe(max(0.0, time.time() - datetime.fromisoformat(known["created_at"]).timestamp()))


OUTCOMES = frozenset({"order.booked", "order.canceled", "order.rejected", "order.expired"})


class _Wire:
    """Socket.IO's JSON: typed records, Decimal and datetime as the REST API writes them."""

    dumps = staticmethod(lambda value, **kw: jsonio.dumps(value))
    loads = staticmethod(json.loads)


def create_gateway(settings: Settings) -> tuple[Flask, SocketIO, EventFeed]:
    app = Flask("socket_gateway")
    socketio = SocketIO(async_mode="gevent", cors_allowed_origins=None, ping_interval=10, ping_timeout=10,
                        json=_Wire)

    tracker = OrderTracker()  # only the feed's thread touches it
    throttle: Throttle[list[Push]] = Throttle(LEADERBOARD_INTERVAL)

    def send(item: Any) -> None:
        for room in item.rooms:
            socketio.emit(item.event, item.data, to=room)

    def send_held() -> None:
        for item in throttle.due(time.monotonic()) or ():
            send(item)

    def push(envelope: Envelope) -> None:
        _time_outcome(envelope, tracker)
        items = PUSHES.pushes_for(envelope, tracker)
        if envelope.type != LeaderboardUpdated.TYPE:
            for item in items:
                send(item)
            return
        now_items, wait = throttle.offer(items, time.monotonic())  # the board's pushes go together
        for item in now_items or ():
            send(item)
        if wait is not None:
            socketio.start_background_task(_later, wait, send_held)

    gateway = Gateway(settings)
    sessions = SocketSessions(lambda: int(gateway.api.get_json("user_accounts", "/api/simulation")
                                          ["tokens_valid_from_epoch"]))

    def sign_out(sids: list[str]) -> None:
        """Sockets whose tokens a reset revoked: told why, then disconnected (the
        front end logs a demo trader in again and reconnects)."""
        for sid in sids:
            sessions.remove(sid)
            socketio.emit("revoked", {"message": REVOKED_MESSAGE}, to=sid)
            socketio.server.disconnect(sid, namespace="/")
        if sids:
            log.info("gateway: disconnected %d socket(s) whose token a reset revoked", len(sids))

    def deliver(envelope: Envelope) -> None:
        push(envelope)
        if isinstance(envelope.event, SimulationReset):
            # after the `reset` push, so a signed-out screen still starts over
            sign_out(sessions.raise_to(envelope.event.tokens_valid_from_epoch))

    def learn_open_orders() -> None:
        """Orders placed before this feed connected: their execution reports need them."""
        token = issue_token(settings.secret_key, 0, "instructor", "socket_gateway", 1, 300)[0]
        try:
            orders = gateway.api.get_json("stock_ordering", "/api/orders?status=open&limit=20000",
                                          {"Authorization": f"Bearer {token}"})
        except Exception as exc:  # noqa: BLE001 - without them only older orders' reports are missing
            log.warning("gateway: could not read the open orders: %s", exc)
            return
        tracker.bootstrap(orders)
        log.info("gateway: tracking %d open orders", len(orders))

    def feed_connected() -> None:
        sessions.feed_connected()
        socketio.start_background_task(lambda: sign_out(sessions.refresh()))
        socketio.start_background_task(learn_open_orders)

    feed = EventFeed(settings, deliver, on_connected=feed_connected)
    gateway.health = lambda: {"feed_connected": feed.connected}
    app.wsgi_app = gateway  # type: ignore[method-assign]
    socketio.init_app(app)

    @socketio.on("connect")
    def connect(auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            SOCKETS.inc(1)
            return  # anonymous: public rooms only
        try:
            who = verify_token(settings.secret_key, str(token))
        except InvalidToken as exc:
            log.info("gateway: refused a socket with a bad token (%s) from %s", exc, request.remote_addr)
            raise Refused("invalid token") from exc
        if sessions.revoked(who):
            log.info("gateway: refused a socket with a token revoked by a reset (user %d)", who.user_id)
            raise Refused(REVOKED_MESSAGE)
        sessions.add(request.sid, who)  # type: ignore[attr-defined]
        SOCKETS.inc(1)
        join_room(user_room(who.user_id))
        join_room(INSTRUCTORS if who.is_instructor else TRADERS)

    @socketio.on("disconnect")
    def disconnect(*_: Any) -> None:
        sessions.remove(request.sid)  # type: ignore[attr-defined]
        SOCKETS.inc(-1)

    @socketio.on("subscribe")
    def subscribe(data: Any = None) -> dict[str, Any]:
        symbols = data.get("symbols") if isinstance(data, dict) else None
        if not isinstance(symbols, list) or len(symbols) > MAX_SUBSCRIPTIONS:
            return {"error": {"code": "invalid", "message": f"send {{\"symbols\": [...]}} (at most {MAX_SUBSCRIPTIONS})"}}
        good = [s for s in symbols if is_symbol(s)]
        for symbol in good:
            join_room(symbol_room(symbol))
        return {"subscribed": good}

    @socketio.on("unsubscribe")
    def unsubscribe(data: Any = None) -> dict[str, Any]:
        symbols = data.get("symbols") if isinstance(data, dict) else None
        good = [s for s in symbols if is_symbol(s)] if isinstance(symbols, list) else []
        for symbol in good:
            leave_room(symbol_room(symbol))
        return {"unsubscribed": good}

    return app, socketio, feed
