"""stock_data's HTTP API: /api/stocks (listing, prices, candles, tape) and /api/market."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from service_runtime.auth import Principal
from service_runtime.db import Database
from service_runtime.errors import NotFound
from service_runtime.identifiers import is_symbol
from service_runtime.openapi import api, body, query, responses
from service_runtime.outbox import read_epoch
from service_runtime.web import clamp_limit, db, json_response, require_instructor

from . import schemas, services, store
from .domain import (
    CANDLES_DEFAULT,
    CANDLES_MAX,
    MARKET_ACTIONS,
    TAPE_DEFAULT,
    TAPE_MAX,
    new_stock,
    session_minutes,
)
from .views import public_candle, public_market, public_stock, public_trade

bp = Blueprint("stock_data", __name__)
SERVICE = "stock_data"


def _known_stock(conn: Any, symbol: str) -> dict[str, Any]:
    row = store.get_stock(conn, symbol) if is_symbol(symbol) else None
    if row is None:
        raise NotFound(f"no stock {symbol!r}")
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
    req: schemas.NewStock = body()
    stock = new_stock(req.symbol, req.name, req.reference_price)
    with db().unit_of_work(SERVICE) as uow:
        row = services.list_stock(uow, stock)
    return json_response(public_stock(row), 201)


@bp.delete("/api/stocks/<symbol>")
@require_instructor
@api(resp=responses(200, schemas.Stock, errors=(403, 404, 409)), tags=["market data"])
def delist_stock(who: Principal, symbol: str) -> Response:
    """Delist: no new orders for it; matching cancels its resting orders. POST lists it again."""
    if not is_symbol(symbol):
        raise NotFound(f"no stock {symbol!r}")
    with db().unit_of_work(SERVICE) as uow:
        row = services.delist_stock(uow, symbol)
    return json_response(public_stock(row))


@bp.get("/api/stocks/<symbol>/candles")
@api(query=schemas.CandleQuery, resp=responses(200, schemas.Candle, array=True, errors=(404, 422)),
     tags=["market data"], public=True)
def get_candles(symbol: str) -> Response:
    interval = query().interval or "1m"
    limit = clamp_limit(CANDLES_DEFAULT, CANDLES_MAX)
    with db().read() as conn:
        _known_stock(conn, symbol)
        return json_response([public_candle(r) for r in store.candles(conn, symbol, interval, limit)])


@bp.get("/api/stocks/<symbol>/trades")
@api(query=schemas.TapeQuery, resp=responses(200, schemas.TapeTrade, array=True, errors=(404, 422)),
     tags=["market data"], public=True)
def get_trades(symbol: str) -> Response:
    limit = clamp_limit(TAPE_DEFAULT, TAPE_MAX)
    with db().read() as conn:
        _known_stock(conn, symbol)
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
@api(json=schemas.MarketChange, resp=responses(200, schemas.MarketChanged, errors=(403, 404, 422)),
     tags=["market data"])
def change_market(who: Principal, action: str) -> Response:
    status = MARKET_ACTIONS.get(action)
    if status is None:
        raise NotFound(f"no market action {action!r}; use open, halt or close")
    minutes = session_minutes(status, body().session_minutes)
    with db().unit_of_work(SERVICE) as uow:
        market, previous, changed = services.change_market(uow, status, minutes)
    return json_response({**public_market(market), "previous": previous, "changed": changed})


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"market": store.get_market(conn)["status"]}
