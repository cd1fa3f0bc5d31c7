"""stock_ordering's HTTP API: the public order API (/api/orders)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from service_runtime.auth import Principal
from service_runtime.contracts import OrderCancelRequested
from service_runtime.db import Database
from service_runtime.handlers import emit_now
from service_runtime.identifiers import is_symbol, is_user_id
from service_runtime.openapi import api, responses
from service_runtime.outbox import backlog
from service_runtime.rate_limit import rate_limited
from service_runtime.web import (
    ApiError,
    clamp_limit,
    db,
    json_object,
    json_response,
    require_auth,
    require_instructor,
)

from . import schemas, store
from .domain import MAX_BATCH, order_json, parse_order
from .front_door import OrderWriter

bp = Blueprint("stock_ordering", __name__)
SERVICE = "stock_ordering"
LIST_MAX = 5000


def writer() -> OrderWriter:
    ext = current_app.extensions
    if "papertrade.order_writer" not in ext:
        ext["papertrade.order_writer"] = OrderWriter(db())
    return ext["papertrade.order_writer"]


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"outbox_backlog": backlog(conn), "market": store.market_status(conn)}


@bp.post("/api/orders")
@require_auth
@api(json=schemas.OrderRequest, resp=responses(201, schemas.Order, errors=(403, 409, 422, 429), also=(200,)), tags=["orders"])
@rate_limited
def place_order(who: Principal) -> Response:
    order = parse_order(json_object(), who)
    _check_on_behalf(who, [order])
    outcome = writer().submit([order])[0]
    if outcome.error is not None:
        raise outcome.error
    g.log_suffix = f" order={outcome.order['id']}"
    return json_response(outcome.order, outcome.status)


@bp.post("/api/orders/batch")
@require_auth
@api(json=schemas.BatchRequest, resp=responses(200, schemas.BatchResults, errors=(413, 422, 429)), tags=["orders"])
@rate_limited
def place_batch(who: Principal) -> Response:
    body = json_object()
    items = body.get("orders")
    if not isinstance(items, list):
        raise ApiError(422, "invalid", "the body must be {\"orders\": [...]}", field="orders")
    if len(items) > MAX_BATCH:
        raise ApiError(413, "payload_too_large", f"at most {MAX_BATCH} orders per batch", field="orders")
    results: list[Any] = [None] * len(items)
    valid = []
    positions = []
    for i, item in enumerate(items):
        try:
            order = parse_order(item, who)
            _check_on_behalf(who, [order])
            valid.append(order)
            positions.append(i)
        except ApiError as err:
            results[i] = _item_error(err)
    outcomes = writer().submit(valid) if valid else []
    for i, outcome in zip(positions, outcomes, strict=True):
        results[i] = outcome.order if outcome.error is None else _item_error(outcome.error)
    return json_response({"results": results}, 200)


def _check_on_behalf(who: Principal, orders: list[Any]) -> None:
    """An instructor may place orders for others, but only for users this service
    knows: an order for a user that does not exist would wait forever.
    (Orders for oneself need no check: the signed token proves the user exists.)"""
    others = {o.user_id for o in orders if o.user_id != who.user_id}
    if not others:
        return
    with db().read() as conn:
        known = {r["user_id"] for r in conn.execute(
            "SELECT user_id FROM known_users WHERE user_id = ANY(%s)", (list(others),)).fetchall()}
    missing = sorted(others - known)
    if missing:
        raise ApiError(422, "unknown_user", f"no user {missing[0]}", field="user_id")


def _item_error(err: ApiError) -> dict[str, Any]:
    body = err.body()
    body["error"]["status"] = err.status
    return body


def _check_owner(who: Principal, order: dict[str, Any] | None, order_id: int) -> dict[str, Any]:
    if order is None:
        raise ApiError(404, "not_found", f"no order {order_id}")
    if order["user_id"] != who.user_id and not who.is_instructor:
        raise ApiError(403, "forbidden", "that order belongs to another user")
    return order


@bp.get("/api/orders")
@require_auth
@api(query=schemas.OrderListQuery, resp=responses(200, schemas.Order, array=True, errors=(422,)), tags=["orders"])
def list_orders(who: Principal) -> Response:
    status = request.args.get("status", "all")
    if status not in ("open", "closed", "all"):
        raise ApiError(422, "invalid", "status must be open, closed or all", field="status")
    symbol = request.args.get("symbol") or None
    if symbol is not None and not is_symbol(symbol):
        raise ApiError(422, "invalid", "symbol must be 1 to 8 upper-case letters or digits", field="symbol")
    user_id: int | None = who.user_id
    if who.is_instructor:
        raw = request.args.get("user_id")
        if raw in (None, ""):
            user_id = None
        else:
            try:
                user_id = int(raw)
            except ValueError:
                user_id = None
            if not is_user_id(user_id):
                raise ApiError(422, "invalid", "user_id must be a positive integer", field="user_id")
    limit = clamp_limit(500, LIST_MAX)
    with db().read() as conn:
        rows = store.list_orders(conn, user_id, status, symbol, limit)
    return json_response([order_json(r) for r in rows])


@bp.get("/api/orders/<int:order_id>")
@require_auth
@api(resp=responses(200, schemas.OrderWithHistory, errors=(403, 404)), tags=["orders"])
def get_order(who: Principal, order_id: int) -> Response:
    with db().read() as conn:
        order = _check_owner(who, store.get_order(conn, order_id), order_id)
        body = order_json(order)
        body["history"] = store.history(conn, order_id)
    return json_response(body)


@bp.delete("/api/orders/<int:order_id>")
@require_auth
@api(resp=responses(202, schemas.Order, errors=(403, 404, 409, 429)), tags=["orders"])
@rate_limited
def cancel_order(who: Principal, order_id: int) -> Response:
    with db().transaction() as conn:
        order = _check_owner(who, store.get_order(conn, order_id, for_update=True), order_id)
        if store.is_final(order):
            raise ApiError(409, "order_final", f"order {order_id} is already {order['status']}")
        _request_cancel(conn, order)
    g.log_suffix = f" order={order_id}"
    return json_response(order_json(order), 202)


@bp.delete("/api/orders")
@require_auth
@api(query=schemas.CancelAllQuery, resp=responses(202, schemas.Order, array=True, errors=(422, 429)), tags=["orders"])
@rate_limited
def cancel_all(who: Principal) -> Response:
    symbol = request.args.get("symbol") or None
    if symbol is not None and not is_symbol(symbol):
        raise ApiError(422, "invalid", "symbol must be 1 to 8 upper-case letters or digits", field="symbol")
    with db().transaction() as conn:
        orders = store.open_orders_for_update(conn, who.user_id, symbol)
        for order in orders:
            _request_cancel(conn, order)
    return json_response([order_json(o) for o in orders], 202)


@bp.get("/api/exports/orders.csv")
@require_instructor
@api(resp=responses(200, None, errors=(403,)), tags=["exports"])
def export_orders(who: Principal) -> Response:
    """Every order (instructors), as CSV with a header row."""
    with db().read() as conn:
        rows = store.all_orders(conn)
    columns = ["id", "client_order_id", "user_id", "symbol", "side", "type", "qty", "limit_price", "time_in_force",
               "status", "filled_qty", "filled_avg_price", "reject_reason", "created_at", "updated_at"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        order = order_json(row)
        writer.writerow(["" if order[c] is None else _cell(order[c]) for c in columns])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="orders.csv"'})


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _request_cancel(conn: Any, order: dict[str, Any]) -> None:
    """Mark pending_cancel and ask matching; asking twice sends nothing new."""
    if order["cancel_requested"]:
        return
    order["cancel_requested"] = True
    store.save_order(conn, order, "cancel requested")
    emit_now(conn, SERVICE, [OrderCancelRequested(order["id"], order["user_id"], order["symbol"])])


