"""Scenarios: a class set up in one action (stocks, traders, settings, bots).

A scenario document:
    {"name", "description", "stocks": [{"symbol", "name", "reference_price"}],
     "traders": {"count", "prefix", "starting_cash", "holdings"} | null,
     "settings": {...as PUT /api/settings} | null, "bots": {...bot config}, "session_minutes": int | null}
The shipped ones are files in house_bots/scenarios/; saved ones live in the database.
Loading one drives the public API as an instructor would, step by step.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from service_runtime.identifiers import is_symbol
from service_runtime.money import is_on_tick, to_decimal
from service_runtime.web import ApiError

from .config import BotConfig, parse_config
from .public_api import ApiCallError, PublicApi

BUILTIN_DIR = Path(__file__).resolve().parent / "scenarios"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
FIELDS = {"name", "description", "stocks", "traders", "settings", "bots", "session_minutes"}
SETTINGS_FIELDS = {"commission_per_share", "max_position", "max_order_qty"}
MAX_STOCKS = 50
MAX_TRADERS = 500


def _invalid(message: str, name: str) -> ApiError:
    return ApiError(422, "invalid", message, field=name)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ApiError(404, "not_found", "scenario names are 1 to 40 of a-z, 0-9, '_' and '-'")
    return name


def _price(value: Any, name: str) -> str:
    try:
        price = to_decimal(value)
    except ValueError as exc:
        raise _invalid(f"{name} {exc}", name) from exc
    if price <= 0 or not is_on_tick(price):
        raise _invalid(f"{name} must be a positive price on the 0.01 tick", name)
    return format(price.quantize(Decimal("0.01")), "f")


def _holdings(value: Any, name: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        is_symbol(k) and isinstance(v, int) and not isinstance(v, bool) and v > 0 for k, v in value.items()
    ):
        raise _invalid(f"{name} must be an object {{SYMBOL: shares > 0}}", name)
    return dict(value)


def parse_scenario(body: Any, name: str) -> dict[str, Any]:
    """Validate a scenario document and return it normalized (money as strings)."""
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "a scenario must be a JSON object")
    unknown = set(body) - FIELDS
    if unknown:
        field = sorted(unknown)[0]
        raise _invalid(f"unknown field {field!r}", field)
    if body.get("name", name) != name:
        raise _invalid("name must match the scenario's path", "name")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 500:
        raise _invalid("description must be a string of at most 500 characters", "description")

    stocks_in = body.get("stocks")
    if not isinstance(stocks_in, list) or not 1 <= len(stocks_in) <= MAX_STOCKS:
        raise _invalid(f"stocks must be a list of 1 to {MAX_STOCKS} stocks", "stocks")
    stocks = []
    for i, stock in enumerate(stocks_in):
        if not isinstance(stock, dict) or not is_symbol(stock.get("symbol")):
            raise _invalid(f"stocks[{i}] needs a symbol of 1 to 8 upper-case letters or digits", "stocks")
        title = stock.get("name") or stock["symbol"]
        if not isinstance(title, str) or len(title) > 100:
            raise _invalid(f"stocks[{i}].name must be a string", "stocks")
        stocks.append({"symbol": stock["symbol"], "name": title,
                       "reference_price": _price(stock.get("reference_price"), f"stocks[{i}].reference_price")})
    if len({s["symbol"] for s in stocks}) != len(stocks):
        raise _invalid("a symbol is listed twice", "stocks")

    traders = body.get("traders")
    if traders is not None:
        if not isinstance(traders, dict) or set(traders) - {"count", "prefix", "starting_cash", "holdings"}:
            raise _invalid("traders must be {count, prefix, starting_cash, holdings}", "traders")
        count = traders.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_TRADERS:
            raise _invalid(f"traders.count must be 0 to {MAX_TRADERS}", "traders.count")
        prefix = traders.get("prefix", "Student")
        if not isinstance(prefix, str) or not 1 <= len(prefix.strip()) <= 40:
            raise _invalid("traders.prefix must be 1 to 40 characters", "traders.prefix")
        cash = _price(traders.get("starting_cash", "100000"), "traders.starting_cash")
        traders = {"count": count, "prefix": prefix.strip(), "starting_cash": cash,
                   "holdings": _holdings(traders.get("holdings"), "traders.holdings")}

    settings = body.get("settings")
    if settings is not None and (not isinstance(settings, dict) or set(settings) - SETTINGS_FIELDS):
        raise _invalid(f"settings may hold {', '.join(sorted(SETTINGS_FIELDS))}", "settings")

    bots = parse_config(body.get("bots") or {}, BotConfig(symbols=tuple(s["symbol"] for s in stocks)))

    session = body.get("session_minutes")
    if session is not None and (isinstance(session, bool) or not isinstance(session, int) or not 1 <= session <= 600):
        raise _invalid("session_minutes must be null or 1 to 600", "session_minutes")
    return {"name": name, "description": description, "stocks": stocks, "traders": traders,
            "settings": settings, "bots": bots.to_json(), "session_minutes": session}


@lru_cache(maxsize=1)
def builtin() -> dict[str, dict[str, Any]]:
    """The shipped scenarios, validated like a saved one."""
    found = {}
    for path in sorted(BUILTIN_DIR.glob("*.json")):
        found[path.stem] = parse_scenario(json.loads(path.read_text(), parse_float=Decimal), path.stem)
    return found


# --------------------------------------------------------------------------- loading


class StepFailed(ApiError):
    def __init__(self, step: str, exc: ApiCallError) -> None:
        super().__init__(502, "scenario_step_failed", f"step {step!r} failed: {exc}")


def step(name: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ApiCallError as exc:
        raise StepFailed(name, exc) from exc


def _wait(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except ApiCallError:
            pass
        time.sleep(0.2)
    raise ApiError(504, "scenario_timeout", f"timed out waiting for {what}")


def reset_exchange(api: PublicApi) -> int:
    """POST /api/simulation/reset and wait until the new epoch is visible. Listing
    stocks and creating users right after it is safe: set-up events are
    epoch-free, a reset keeps what they set up (docs/decisions.md, issue 4)."""
    epoch = int(step("reset", api.reset)["epoch"])
    _wait("the new epoch", lambda: int(api.simulation()["epoch"]) >= epoch)
    return epoch


def list_stocks(api: PublicApi, stocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    listed = {s["symbol"] for s in step("stocks", api.stocks)}
    for stock in stocks:
        if stock["symbol"] not in listed:
            try:
                api.list_stock(stock["symbol"], stock["name"], stock["reference_price"])
            except ApiCallError as exc:
                if exc.status != 409:
                    raise StepFailed("stocks", exc) from exc
    wanted = {s["symbol"] for s in stocks}
    # Matching knows a symbol last of the services that must (it answers its book):
    # wait for it so that nobody's first order meets an unknown symbol.
    for symbol in sorted(wanted):
        _wait(f"{symbol} to be listed", lambda s=symbol: api.book(s, 1) is not None)
    return [s for s in step("stocks", api.stocks) if s["symbol"] in wanted]


def create_traders(api: PublicApi, traders: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Bring the class to `count` traders named '<prefix> N' (loading twice adds nobody)."""
    if not traders:
        return []
    pattern = re.compile(rf"^{re.escape(traders['prefix'])} \d+$")
    existing = [u for u in step("traders", api.users) if pattern.match(u["name"])]
    missing = traders["count"] - len(existing)
    created: list[dict[str, Any]] = []
    if missing > 0:
        created = step("traders", lambda: api.bulk_users({
            "count": missing, "prefix": traders["prefix"], "starting_cash": traders["starting_cash"],
            "holdings": traders["holdings"]}))
    return [{"id": u["id"], "name": u["name"], "role": u["role"]} for u in [*existing, *created]]
