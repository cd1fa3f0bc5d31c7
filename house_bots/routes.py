"""house_bots' HTTP API: /api/bots (run and tune the house bots) and /api/scenarios.
Instructors only: 401 for anonymous callers, 403 for everyone else."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from service_runtime.auth import Principal
from service_runtime.db import Database
from service_runtime.openapi import api, responses
from service_runtime.web import ApiError, db, json_object, json_response, require_instructor, settings

from . import scenarios, schemas, store
from .config import parse_config, runner_settings
from .engine import BotEngine
from .public_api import PublicApi

bp = Blueprint("house_bots", __name__)


def engine() -> BotEngine:
    ext = current_app.extensions
    if "papertrade.bot_engine" not in ext:
        ext["papertrade.bot_engine"] = BotEngine(db(), settings(), runner_settings(settings()))
    return ext["papertrade.bot_engine"]


def caller_api() -> PublicApi:
    """The public API with the calling instructor's own token: what the bots
    runner does for an instructor is done as that instructor."""
    token = request.headers["Authorization"].split(" ", 1)[1]  # require_instructor checked it
    return PublicApi(engine().runner.endpoints, token)


def _optional_body() -> dict[str, Any] | None:
    return json_object() if request.get_data(cache=True).strip() else None


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"bots_running": store.load_runner(conn)["running"]}


# --------------------------------------------------------------------------- bots


@bp.get("/api/bots")
@require_instructor
@api(resp=responses(200, schemas.BotsStatus, errors=(403,)), tags=["house bots"])
def get_bots(who: Principal) -> Response:
    return json_response(engine().status())


@bp.put("/api/bots/config")
@require_instructor
@api(json=schemas.BotConfigChange, resp=responses(200, schemas.BotConfig, errors=(403, 422)), tags=["house bots"])
def put_config(who: Principal) -> Response:
    body = json_object()
    with db().transaction() as conn:
        config = parse_config(body, store.load_runner(conn)["config"])
    bots = engine()
    if bots.running:
        bots.apply(config, who.user_id, caller_api())
    with db().transaction() as conn:
        store.save_runner(conn, config)
    return json_response(config.to_json())


@bp.post("/api/bots/start")
@require_instructor
@api(json=schemas.BotConfigChange, resp=responses(200, schemas.BotsStatus, errors=(403, 409, 422)), tags=["house bots"])
def start_bots(who: Principal) -> Response:
    body = _optional_body()
    with db().read() as conn:
        config = store.load_runner(conn)["config"]
    if body is not None:
        config = parse_config(body, config)
    engine().start(config, who.user_id, caller_api())
    return json_response(engine().status())


@bp.post("/api/bots/stop")
@require_instructor
@api(resp=responses(200, schemas.BotsStatus, errors=(403,)), tags=["house bots"])
def stop_bots(who: Principal) -> Response:
    engine().stop()
    return json_response(engine().status())


# --------------------------------------------------------------------------- scenarios


def _find(name: str) -> tuple[dict[str, Any], bool]:
    scenarios.check_name(name)
    shipped = scenarios.builtin()
    if name in shipped:
        return shipped[name], True
    with db().read() as conn:
        document = store.get_scenario(conn, name)
    if document is None:
        raise ApiError(404, "not_found", f"no scenario {name!r}")
    return document, False


@bp.get("/api/scenarios")
@require_instructor
@api(resp=responses(200, schemas.ScenarioSummary, array=True, errors=(403,)), tags=["house bots"])
def list_scenarios(who: Principal) -> Response:
    rows = [{"name": n, "description": d["description"], "builtin": True} for n, d in scenarios.builtin().items()]
    with db().read() as conn:
        rows += [{"name": r["name"], "description": r["document"].get("description", ""), "builtin": False}
                 for r in store.list_scenarios(conn)]
    return json_response(rows)


@bp.get("/api/scenarios/<name>")
@require_instructor
@api(resp=responses(200, schemas.Scenario, errors=(403, 404, 422)), tags=["house bots"])
def get_scenario(who: Principal, name: str) -> Response:
    document, builtin = _find(name)
    return json_response({**document, "builtin": builtin})


@bp.put("/api/scenarios/<name>")
@require_instructor
@api(json=schemas.ScenarioDocument, resp=responses(201, schemas.Scenario, errors=(403, 404, 409, 422), also=(200,)), tags=["house bots"])
def put_scenario(who: Principal, name: str) -> Response:
    scenarios.check_name(name)
    if name in scenarios.builtin():
        raise ApiError(409, "builtin", f"{name!r} is a shipped scenario; save yours under another name",
                       field="name")
    body = json_object()
    body.pop("builtin", None)  # what GET returns may be saved back as it is
    document = scenarios.parse_scenario(body, name)
    with db().transaction() as conn:
        created = store.save_scenario(conn, name, document, who.user_id)
    return json_response({**document, "builtin": False}, 201 if created else 200)


@bp.post("/api/scenarios/<name>/load")
@require_instructor
@api(json=schemas.LoadScenario, resp=responses(200, schemas.Loaded, errors=(403, 404, 409, 422)), tags=["house bots"])
def load_scenario(who: Principal, name: str) -> Response:
    document, _ = _find(name)
    body = _optional_body() or {}
    start = body.get("start_bots", False)
    if not isinstance(start, bool) or set(body) - {"start_bots"}:
        raise ApiError(422, "invalid", "the body may only be {\"start_bots\": true|false}", field="start_bots")
    bots = engine()
    api = caller_api()
    # The bots stop first: nothing of theirs must trade across the reset.
    bots.stop()
    epoch = scenarios.reset_exchange(api)
    stocks = scenarios.list_stocks(api, document["stocks"])
    traders = scenarios.create_traders(api, document["traders"])
    if document.get("settings"):
        scenarios.step("settings", lambda: api.put_settings(document["settings"]))
    scenarios.step("market", lambda: api.open_market(document.get("session_minutes")))
    config = parse_config(document["bots"])
    with db().transaction() as conn:
        store.save_runner(conn, config, running=False)
    if start:
        bots.start(config, who.user_id, api)
    return json_response({"epoch": epoch, "stocks": stocks, "traders": traders, "bots": bots.status()})
