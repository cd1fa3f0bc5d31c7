"""order_matching's HTTP API: aggregated book depth (/api/books)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from service_runtime.db import Database
from service_runtime.identifiers import is_symbol
from service_runtime.openapi import api, responses
from service_runtime.web import ApiError, db, json_response

from . import schemas, store

bp = Blueprint("order_matching", __name__)
MAX_LEVELS = 1000


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"market": store.market_status(conn)}


@bp.get("/api/books/<symbol>")
@api(query=schemas.BookQuery, resp=responses(200, schemas.Book, errors=(404, 422)), tags=["market data"], public=True)
def book(symbol: str) -> Response:
    if not is_symbol(symbol):
        raise ApiError(404, "not_found", "symbols are 1 to 8 upper-case letters or digits")
    raw = request.args.get("levels", "10")
    try:
        levels = max(1, min(int(raw), MAX_LEVELS))
    except ValueError as exc:
        raise ApiError(422, "invalid", "levels must be a whole number", field="levels") from exc
    with db().read() as conn:
        body = store.depth(conn, symbol, levels)
    if body is None:
        raise ApiError(404, "not_found", f"{symbol} is not listed")
    return json_response(body)
