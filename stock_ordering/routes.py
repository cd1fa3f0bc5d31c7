"""stock_ordering's HTTP API: the public order API (/api/orders)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g

from service_runtime.auth import Principal
from service_runtime.db import Database
from service_runtime.errors import DomainError, Forbidden, Invalid, TooLarge
from service_runtime.identifiers import is_symbol, is_user_id
from service_runtime.openapi import api, body, query, responses, validated
from service_runtime.outbox import lag
from service_runtime.rate_limit import rate_limited
from service_runtime.relay_thread import RelayThread
from service_runtime.web import (
    ApiError,
    api_error,
    clamp_limit,
    db,
    json_response,
    require_auth,
    require_instructor,
    settings,
)

from . import schemas, services, store
from .domain import MAX_BATCH, Changes, NewOrder, new_order
from .front_door import OrderDoor
from .handlers import handlers
from .views import order_json, orders_csv

bp = Blueprint("stock_ordering", __name__)
SERVICE = "stock_ordering"
LIST_MAX = 5000


def door() -> OrderDoor:
    ext = current_app.extensions
    if "papertrade.order_door" not in ext:
        database = db()
        if handlers.relay_in_api and settings().relay_in_api:
            # The door writes nearly all of this service's events: it relays them itself,
            # right after each commit, instead of waking the worker to read them back.
            database.relay = RelayThread(settings(), SERVICE, SERVICE)
        ext["papertrade.order_door"] = OrderDoor(database)
    return ext["papertrade.order_door"]


@bp.record_once
def _start_door(state: Any) -> None:
    # start the relay with the app, not on the first order (its connection takes a moment)
    app = state.app
    if "papertrade.db" in app.extensions:  # not when only the OpenAPI document is built
        with app.app_context():
            door()


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        unsent, _ = lag(conn)
        return {"outbox_backlog": unsent, "market": store.market_status(conn)}


def parse_order(data: Any, who: Principal) -> NewOrder:
    """One order request (a batch item): its shape, then who may place it, then its rules."""
    if not isinstance(data, dict):
        raise Invalid("an order must be a JSON object")
    return order_from(validated(schemas.OrderRequest, data), who)


def order_from(req: schemas.OrderRequest, who: Principal) -> NewOrder:
    if req.user_id is not None and req.user_id != who.user_id and not who.is_instructor:
        raise Forbidden("only an instructor may place orders for another user", "user_id")
    return new_order(req.user_id or who.user_id, req.symbol, req.side, req.type, req.qty, req.limit_price,
                     req.time_in_force, req.client_order_id, req.stop_price)


@bp.post("/api/orders")
@require_auth
@api(json=schemas.OrderRequest, resp=responses(201, schemas.Order, errors=(403, 409, 422, 429), also=(200,)),
     tags=["orders"])
@rate_limited
def place_order(who: Principal) -> Response:
    order = order_from(body(), who)
    if order.user_id != who.user_id:
        with db().read() as conn:
            services.check_on_behalf(conn, who.user_id, who.is_instructor, [order])
    outcome = door().submit([order])[0]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.order is not None
    g.log_suffix = f" order={outcome.order['id']}"
    return json_response(order_json(outcome.order), outcome.status)


@bp.post("/api/orders/batch")
@require_auth
@api(json=schemas.BatchRequest, resp=responses(200, schemas.BatchResults, errors=(413, 422, 429)), tags=["orders"])
@rate_limited
def place_batch(who: Principal) -> Response:
    items = body().orders
    if len(items) > MAX_BATCH:
        raise TooLarge(f"at most {MAX_BATCH} orders per batch", "orders")
    results: list[Any] = [None] * len(items)
    valid: list[NewOrder] = []
    positions: list[int] = []
    for i, item in enumerate(items):
        try:
            order = parse_order(item, who)
            if order.user_id != who.user_id:
                with db().read() as conn:
                    services.check_on_behalf(conn, who.user_id, who.is_instructor, [order])
            valid.append(order)
            positions.append(i)
        except (DomainError, ApiError) as err:  # a rule, or the shape (ApiError from validated)
            results[i] = _item_error(err)
    outcomes = door().submit(valid) if valid else []
    for i, outcome in zip(positions, outcomes, strict=True):
        results[i] = order_json(outcome.order) if outcome.error is None else _item_error(outcome.error)
    return json_response({"results": results}, 200)


def _item_error(err: DomainError | ApiError) -> dict[str, Any]:
    api_err = api_error(err) if isinstance(err, DomainError) else err
    out = api_err.body()
    out["error"]["status"] = api_err.status
    return out


@bp.get("/api/orders")
@require_auth
@api(query=schemas.OrderListQuery, resp=responses(200, schemas.Order, array=True, errors=(422,)), tags=["orders"])
def list_orders(who: Principal) -> Response:
    q: schemas.OrderListQuery = query()
    status = q.status or "all"
    symbol = q.symbol or None
    if symbol is not None and not is_symbol(symbol):
        raise Invalid("symbol must be 1 to 8 upper-case letters or digits", "symbol")
    user_id: int | None = who.user_id
    if who.is_instructor:
        user_id = None
        if q.user_id not in (None, ""):
            user_id = int(q.user_id) if q.user_id.isdigit() else None
            if not is_user_id(user_id):
                raise Invalid("user_id must be a positive integer", "user_id")
    role = q.role if who.is_instructor else None
    limit = clamp_limit(500, LIST_MAX)
    with db().read() as conn:
        rows = store.list_orders(conn, user_id, status, symbol, limit, role)
    return json_response([order_json(r) for r in rows])


@bp.get("/api/orders/<int:order_id>")
@require_auth
@api(resp=responses(200, schemas.OrderWithHistory, errors=(403, 404)), tags=["orders"])
def get_order(who: Principal, order_id: int) -> Response:
    with db().read() as conn:
        order = services.owned(store.get_order(conn, order_id), order_id, who.user_id, who.is_instructor)
        view = order_json(order)
        view["history"] = store.history(conn, order_id)
    return json_response(view)


@bp.patch("/api/orders/<int:order_id>")
@require_auth
@api(json=schemas.ReplaceRequest, resp=responses(200, schemas.Order, errors=(403, 404, 409, 422, 429)),
     tags=["orders"])
@rate_limited
def replace_order(who: Principal, order_id: int) -> Response:
    """Replace an open order in one step: the new order (`pending_new`, `replaces`) loses
    time priority; the old one ends `replaced`, or goes on if it filled first."""
    req: schemas.ReplaceRequest = body()
    changes = Changes(req.qty, req.limit_price, req.stop_price, req.time_in_force, req.client_order_id)
    with db().unit_of_work(SERVICE) as uow:
        outcome = services.replace_order(uow, order_id, who.user_id, who.is_instructor, changes)
        if outcome.error is not None:
            raise outcome.error  # nothing written: the transaction rolls back
    assert outcome.order is not None
    g.log_suffix = f" order={order_id} replaced_by={outcome.order['id']}"
    return json_response(order_json(outcome.order), 200)


@bp.delete("/api/orders/<int:order_id>")
@require_auth
@api(resp=responses(202, schemas.Order, errors=(403, 404, 409, 429)), tags=["orders"])
@rate_limited
def cancel_order(who: Principal, order_id: int) -> Response:
    with db().unit_of_work(SERVICE) as uow:
        order = services.cancel_order(uow, order_id, who.user_id, who.is_instructor)
    g.log_suffix = f" order={order_id}"
    return json_response(order_json(order), 202)


@bp.delete("/api/orders")
@require_auth
@api(query=schemas.CancelAllQuery, resp=responses(202, schemas.Order, array=True, errors=(422, 429)),
     tags=["orders"])
@rate_limited
def cancel_all(who: Principal) -> Response:
    symbol = query().symbol or None
    if symbol is not None and not is_symbol(symbol):
        raise Invalid("symbol must be 1 to 8 upper-case letters or digits", "symbol")
    with db().unit_of_work(SERVICE) as uow:
        orders = services.cancel_all(uow, who.user_id, symbol)
    return json_response([order_json(o) for o in orders], 202)


@bp.get("/api/exports/orders.csv")
@require_instructor
@api(resp=responses(200, None, errors=(403,)), tags=["exports"])
def export_orders(who: Principal) -> Response:
    """Every order (instructors), as CSV with a header row."""
    with db().read() as conn:
        rows = store.all_orders(conn)
    return Response(orders_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="orders.csv"'})
