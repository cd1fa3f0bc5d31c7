"""stock_data's HTTP API: /api/stocks (listing, prices, candles, tape) and /api/market."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from service_runtime.auth import Principal
from service_runtime.db import Database
from service_runtime.openapi import api, responses
from service_runtime.outbox import read_epoch
from service_runtime.web import (
    ApiError,
    clamp_limit,
    db,
    json_body,
    json_object,
    json_response,
    require_instructor,
)

from . import schemas, store
from .domain import (
    CANDLES_DEFAULT,
    CANDLES_MAX,
    INTERVALS,
    MARKET_ACTIONS,
    TAPE_DEFAULT,
    TAPE_MAX,
    is_symbol,
    parse_new_stock,
    parse_session_minutes,
    public_candle,
    public_market,
    public_stock,
    public_trade,
)

bp = Blueprint("stock_data", __name__)


def _known_stock(conn: Any, symbol: str) -> dict[str, Any]:
    row = store.get_stock(conn, symbol) if is_symbol(symbol) else None
    if row is None:
        raise ApiError(404, "not_found", f"no stock {symbol!r}")
    return row


@bp.get("/api/stocks")
@api(resp=responses(200, schemas.Stock, array=True), tags=["market data"], public=True)
def list_stocks() -> Response:
    with db().read() as conn:
        return json_response([public_stock(r) for r in store.list_stocks(conn)])


@bp.get("/api/stocks/<symbol>")
@api(resp=responses(200, schemas.Stock, errors=(404,)), tags=["market data"], public=True)
def get_stock(symbol: str) -> Response:
    with db().read() as conn:
        return json_response(public_stock(_known_stock(conn, symbol)))


@bp.post("/api/stocks")
@require_instructor
@api(json=schemas.NewStock, resp=responses(201, schemas.Stock, errors=(403, 409, 422)), tags=["market data"])
def create_stock(who: Principal) -> Response:
    new = parse_new_stock(json_object())
    with db().transaction() as conn:
        row = store.list_stock_and_announce(conn, new.symbol, new.name, new.reference_price)
        if row is None:
            raise ApiError(409, "conflict", f"{new.symbol} is already listed", field="symbol")
    return json_response(public_stock(row), 201)


@bp.delete("/api/stocks/<symbol>")
@require_instructor
@api(resp=responses(200, schemas.Stock, errors=(403, 404, 409)), tags=["market data"])
def delist_stock(who: Principal, symbol: str) -> Response:
    """Delist: no new orders for it; matching cancels its resting orders. POST lists it again."""
    with db().transaction() as conn:
        row = store.delist_stock_and_announce(conn, symbol) if is_symbol(symbol) else None
        if row is None:
            _known_stock(conn, symbol)  # 404 when unknown
            raise ApiError(409, "conflict", f"{symbol} is not listed", field="symbol")
    return json_response(public_stock(row))


@bp.get("/api/stocks/<symbol>/candles")
@api(query=schemas.CandleQuery, resp=responses(200, schemas.Candle, array=True, errors=(404, 422)), tags=["market data"], public=True)
def get_candles(symbol: str) -> Response:
    interval = request.args.get("interval") or "1m"
    with db().read() as conn:
        _known_stock(conn, symbol)
        if interval not in INTERVALS:
            raise ApiError(
                422, "invalid", f"interval must be one of {', '.join(INTERVALS)}", field="interval"
            )
        limit = clamp_limit(CANDLES_DEFAULT, CANDLES_MAX)
        return json_response([public_candle(r) for r in store.candles(conn, symbol, interval, limit)])


@bp.get("/api/stocks/<symbol>/trades")
@api(query=schemas.TapeQuery, resp=responses(200, schemas.TapeTrade, array=True, errors=(404, 422)), tags=["market data"], public=True)
def get_trades(symbol: str) -> Response:
    with db().read() as conn:
        _known_stock(conn, symbol)
        limit = clamp_limit(TAPE_DEFAULT, TAPE_MAX)
        return json_response([public_trade(r) for r in store.tape(conn, symbol, limit)])


@bp.get("/api/market")
@api(resp=responses(200, schemas.Market), tags=["market data"], public=True)
def get_market() -> Response:
    # `epoch`: the simulation epoch stock_data is in, so a client that reset the
    # simulation can wait until the reset has reached the market before opening it
    with db().read() as conn:
        return json_response({**public_market(store.get_market(conn)), "epoch": read_epoch(conn)})


@bp.post("/api/market/<action>")
@require_instructor
@api(json=schemas.MarketChange, resp=responses(200, schemas.MarketChanged, errors=(403, 404, 422)), tags=["market data"])
def change_market(who: Principal, action: str) -> Response:
    status = MARKET_ACTIONS.get(action)
    if status is None:
        raise ApiError(404, "not_found", f"no market action {action!r}; use open, halt or close")
    minutes = None
    if request.get_data(cache=True):
        body = json_body()
        if not isinstance(body, dict):
            raise ApiError(422, "invalid", "the body must be a JSON object")
        if body and status != "open":
            raise ApiError(422, "invalid", "only opening takes a body ({\"session_minutes\": N})",
                           field=sorted(body)[0])
        minutes = parse_session_minutes(body)
    with db().transaction() as conn:
        previous, changed = store.change_market_and_announce(conn, status, minutes)
        market = store.get_market(conn)
    return json_response({**public_market(market), "previous": previous, "changed": changed})


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"market": store.get_market(conn)["status"]}
