"""The Flask app factory every service's HTTP API is built with.

It gives all five the same behaviour at the edges: JSON errors in one shape
(never a stack trace), Decimal-safe JSON in and out, a body size limit, bearer
token authentication, a health check, and one access log line per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import psycopg
from flask import Blueprint, Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from . import errors, jsonio, metrics, outbox, revocation
from .auth import InvalidToken, Principal, verify_token
from .config import SERVICES, Settings, get_settings
from .db import Database
from .worker_stats import OUTBOX_LAG, OUTBOX_UNSENT

log = logging.getLogger("papertrade.http")

MAX_BODY_BYTES = 1024 * 1024

HTTP_REQUESTS = metrics.REGISTRY.counter("papertrade_http_requests_total", "HTTP requests answered")
HTTP_SECONDS = metrics.REGISTRY.histogram("papertrade_http_request_seconds", "Time to answer an HTTP request")
PARKED = metrics.REGISTRY.gauge("papertrade_parked_events", "Events waiting for something not seen yet")


class ApiError(Exception):
    """An error at the HTTP edge (authentication, malformed bodies, rate limits);
    rendered as {"error": {...}}. Rules and use cases raise service_runtime.errors
    instead, mapped to a status by `STATUS_OF`."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class _JSON(DefaultJSONProvider):
    """Flask's own JSON output (jsonify, error pages) goes through jsonio too."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return jsonio.dumps(obj)


STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.Invalid: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Forbidden: 403,
    errors.Unauthorized: 401,
    errors.TooLarge: 413,
    errors.Unavailable: 503,
}


def api_error(err: errors.DomainError) -> ApiError:
    """A domain refusal as the HTTP error it is."""
    status = next((code for kind, code in STATUS_OF.items() if isinstance(err, kind)), 422)
    retry = err.retry_after if isinstance(err, errors.Unavailable) else None
    return ApiError(status, err.code, err.message, field=err.field, retry_after=retry)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsonio.dumps(body), status=status, mimetype="application/json", headers=headers)


def error_response(err: ApiError) -> Response:
    headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else None
    return json_response(err.body(), err.status, headers)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def json_body() -> Any:
    """The request body parsed as JSON (Decimal numbers), or a 400 ApiError.

    Parsed once per request: the schema validation (service_runtime.openapi) and
    the route's own parsing share it."""
    if "json_body" in g:
        return g.json_body
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY_BYTES:
        raise ApiError(413, "payload_too_large", f"body larger than {MAX_BODY_BYTES} bytes")
    if not data:
        raise ApiError(400, "bad_request", "a JSON body is required")
    try:
        g.json_body = jsonio.loads(data)
        return g.json_body
    except jsonio.JSONInputError as exc:
        raise ApiError(400, "malformed_json", str(exc)) from exc
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", "body is not UTF-8") from exc


def json_object() -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object")
    return body


def principal() -> Principal | None:
    """The caller, or None when anonymous; a bad token is a 401 right away, and so is
    a trader's or bot's token issued before a reset that revoked tokens
    (service_runtime/revocation.py: a comparison with a per-process copy of the floor)."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization", "")
    result = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
        try:
            result = verify_token(settings().secret_key, token.strip())
        except InvalidToken as exc:
            raise ApiError(401, "unauthorized", str(exc)) from exc
        if result.role != "instructor":
            floor = token_floor()
            if floor is not None and revocation.is_revoked(result, floor.get()):
                raise ApiError(401, "unauthorized", revocation.REVOKED_MESSAGE)
    g.principal = result
    return result


def token_floor() -> revocation.FloorCache | None:
    """This API process's copy of the token floor (None for house_bots, which has none)."""
    from flask import current_app

    return current_app.extensions.get("papertrade.token_floor")


def require_auth(fn: Callable) -> Callable:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        who = principal()
        if who is None:
            raise ApiError(401, "unauthorized", "log in first: POST /api/sessions")
        return fn(who, *args, **kwargs)

    return wrapper


def require_instructor(fn: Callable) -> Callable:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        who = principal()
        if who is None:
            raise ApiError(401, "unauthorized", "log in first: POST /api/sessions")
        if not who.is_instructor:
            raise ApiError(403, "forbidden", "instructors only")
        return fn(who, *args, **kwargs)

    return wrapper


def clamp_limit(default: int, maximum: int) -> int:
    raw = request.args.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(422, "invalid", "limit must be a whole number", field="limit") from exc
    return max(1, min(value, maximum))


def create_app(
    service: str,
    blueprints: list[Blueprint],
    settings: Settings | None = None,
    health: Callable[[Database], dict[str, Any]] | None = None,
) -> Flask:
    """Build a service's Flask app: its blueprints plus the shared edges."""
    settings = settings or get_settings()
    app = Flask(service)
    app.json = _JSON(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["papertrade.settings"] = settings
    database = Database(settings.database_url(service), max_size=settings.db_pool_size, name=service)
    app.extensions["papertrade.db"] = database
    if service in SERVICES:
        # house_bots has no floor: its API is the instructor's only, and instructors'
        # tokens are never revoked by a reset
        def read_floor() -> int:
            with database.read() as conn:
                return revocation.read_floor(conn)

        app.extensions["papertrade.token_floor"] = revocation.FloorCache(read_floor)
    for bp in blueprints:
        app.register_blueprint(bp)

    @app.get("/healthz")
    def healthz() -> Response:
        """200 "ok"; 200 "degraded" when events stopped leaving the outbox (the API still
        serves: requests write the outbox, the broker is the worker's business); 503
        "unavailable" when the database is unreachable."""
        try:
            with database.read() as conn:
                if service in SERVICES:
                    events = outbox.health(conn, settings.outbox_stall_seconds)
                else:
                    conn.execute("SELECT 1")
                    events = None
            detail = health(database) if health else {}
        except psycopg.Error as exc:
            return json_response({"status": "unavailable", "service": service, "database": str(exc)[:200]}, 503)
        body: dict[str, Any] = {"status": "ok", "service": service, **detail}
        if events is not None:
            body["events"] = events
            if events["status"] == "stalled":
                body["status"] = "degraded"
                body["message"] = events.pop("message")
        return json_response(body)

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        if service in SERVICES:
            # From the database, so they hold whichever worker relays (and while none does).
            try:
                with database.read() as conn:
                    unsent, lag = outbox.lag(conn)
                    parked = conn.execute("SELECT count(*) AS n FROM parked_events").fetchone()["n"]
                OUTBOX_UNSENT.set(unsent, service=service, database=service)
                OUTBOX_LAG.set(lag, service=service, database=service)
                PARKED.set(parked, service=service)
            except psycopg.Error as exc:
                log.warning("%s: metrics: database unavailable: %s", service, exc)
        return Response(metrics.REGISTRY.render(), mimetype="text/plain", content_type=metrics.CONTENT_TYPE)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _access_log(response: Response) -> Response:
        took = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        route = request.url_rule.rule if request.url_rule is not None else "other"
        HTTP_REQUESTS.inc(process=service, method=request.method, route=route, status=response.status_code)
        HTTP_SECONDS.observe(took / 1000, process=service, route=route)
        if request.path not in ("/healthz", "/metrics"):
            log.info(
                "%s %s %s %d %.1fms%s", service, request.method, request.full_path.rstrip("?"),
                response.status_code, took, g.get("log_suffix", ""),
            )
        return response

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(errors.DomainError)
    def _domain_error(err: errors.DomainError) -> Response:
        return error_response(api_error(err))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        return error_response(ApiError(status, _HTTP_CODES.get(status, "error"), err.description or err.name))

    @app.errorhandler(psycopg.OperationalError)
    def _db_down(err: Exception) -> Response:
        log.warning("%s: database unavailable: %s", service, err)
        return error_response(ApiError(503, "unavailable", "the service's database is unavailable", retry_after=2))

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("%s: unexpected error on %s %s", service, request.method, request.path)
        return error_response(ApiError(500, "internal", "internal error"))

    return app


def db() -> Database:
    from flask import current_app

    return current_app.extensions["papertrade.db"]


def settings() -> Settings:
    from flask import current_app

    return current_app.extensions["papertrade.settings"]


def configure_logging(process: str, level: str = "INFO") -> None:
    """One line per event worth knowing, with the process name; the supervisor prefixes it."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=f"%(asctime)s %(levelname)s {process} %(name)s: %(message)s",
    )
    for noisy in ("pika", "urllib3", "psycopg.pool", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
