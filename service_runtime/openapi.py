"""OpenAPI 3 from the pydantic models that validate requests (SpecTree).

Each service declares its request and response models in `<service>/schemas.py`
and decorates a route with `@api(...)` *under* its authentication decorator, so
an anonymous caller still gets 401 before any validation:

    @bp.post("/api/orders")
    @require_auth
    @api(json=OrderRequest, resp=responses(201, Order, errors=(403, 409, 413, 422, 429)), tags=["orders"])
    def place_order(who): ...

`api` validates the query string and the JSON body against the models, once (the
body is parsed by service_runtime.jsonio: Decimal numbers, depth limit, 400 and 413)
and turns the first validation error into the project's ApiError(422, "invalid",
message, field); the route reads the validated models with `body()` and `query()`.
The models own the shape (types, required and unknown fields, enumerations); the
rules (the 0.01 tick, "a market order takes no limit_price", ranges) are each
service's domain code, which runs after. SpecTree only builds the document: it
does not run per request. Responses are documented, not validated at run time (the
schemathesis test checks them against the document).

`service_spec(service)` builds one service's part from its blueprint, without a
database; `merged_spec()` joins the six parts into the one document the gateway
serves at /api/openapi.json.
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from functools import wraps
from typing import Annotated, Any

from flask import Flask, g, request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError
from spectree import Response, SpecTree
from spectree.metadata import register_validated_function
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.utils import get_multidict_items

from .identifiers import MAX_ID
from .money import to_decimal
from .web import ApiError, json_body


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


# Shared field types. Money in responses is a decimal string; in requests a JSON number or string.
Money = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["189.50"])]
MoneyIn = Annotated[Decimal, BeforeValidator(to_decimal), Field(examples=["189.50"])]
Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{1,8}$", examples=["AAPL"])]
Timestamp = Annotated[str, Field(description="ISO 8601 time", examples=["2026-01-05T14:30:00+00:00"])]
PositiveId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
# `?limit=`: a whole number, clamped to the route's maximum (never refused for being large)
Limit = Annotated[int | None, BeforeValidator(_blank_is_none), Field(description="clamped to the route's maximum")]


class Query(BaseModel):
    """Query strings: unknown parameters are ignored, as before."""

    model_config = ConfigDict(extra="ignore")


class Body(BaseModel):
    """Request bodies: unknown fields are refused (422 naming the field)."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """Response bodies: the contract's fields; more may be added."""

    model_config = ConfigDict(extra="allow")


# The services whose routes make up the public API, in the gateway's routing order.
API_PARTS: tuple[str, ...] = (
    "user_accounts", "user_portfolio", "stock_data", "stock_ordering", "order_matching", "house_bots",
)
TITLE = "papertrade"
VERSION = "1.0.0"


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str = Field(description="machine-readable, e.g. invalid, unauthorized, order_final")
    message: str = Field(description="what went wrong, for a person")
    field: str | None = Field(None, description="the request field at fault, when there is one")


class ErrorBody(BaseModel):
    """Every error: {"error": {"code", "message", "field"?}}."""

    error: ErrorDetail


ERROR_TEXT = {
    400: "malformed JSON or a missing body",
    401: "not logged in, or a bad token",
    403: "not yours, or instructors only",
    404: "unknown resource",
    409: "conflicts with the current state",
    413: "body or batch too large",
    422: "a field is invalid (the error names it)",
    429: "rate limited (Retry-After)",
    503: "the service (or its database) is unavailable or too far behind (Retry-After)",
}


def responses(status: int = 200, model: type[BaseModel] | None = None, *, errors: Iterable[int] = (),
              array: bool = False, also: Iterable[int] = ()) -> Response:
    """The success response plus every error status the route can answer.

    503 is always possible (the gateway answers it when the service is down).
    `model=None` documents a body that is not JSON (CSV exports) or empty; `also`
    lists other success statuses with the same body.
    """
    codes: dict[str, Any] = {}
    if model is not None and array:
        model = _array_of(model)
    codes[f"HTTP_{status}"] = model
    for other in also:  # another success status with the same body (e.g. 200 for a repeated request)
        codes[f"HTTP_{other}"] = model
    for code in sorted(set(errors) | {503}):
        codes[f"HTTP_{code}"] = ErrorBody
    return Response(**codes)


_ARRAYS: dict[type, type] = {}


def _array_of(model: type[BaseModel]) -> type:
    """A named list type, so the spec shows `[Order]` rather than an anonymous schema."""
    from pydantic import RootModel

    if model not in _ARRAYS:
        _ARRAYS[model] = type(f"{model.__name__}List", (RootModel[list[model]],), {})  # type: ignore[valid-type]
    return _ARRAYS[model]


def _field_of(error: dict[str, Any]) -> str | None:
    loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int)]
    return loc[0] if loc else None


def validation_error(err: ValidationError) -> ApiError:
    """The first error, as the project's 422: unknown fields first (as the domain checks them)."""
    errors = err.errors(include_url=False)
    # unknown fields first, alphabetically (the first one a client reads names the field to drop)
    errors.sort(key=lambda e: (0, str(e.get("loc"))) if e.get("type") == "extra_forbidden" else (1, ""))
    first = errors[0]
    field = _field_of(first)
    if first.get("type") == "extra_forbidden":
        return ApiError(422, "invalid", f"unknown field {field!r}", field=field)
    if field is None:
        return ApiError(422, "invalid", "the body must be a JSON object")
    message = str(first.get("msg", "invalid")).rstrip(".").removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else "invalid"
    return ApiError(422, "invalid", f"{field}: {message}", field=field)


class _Plugin(FlaskPlugin):
    """SpecTree's Flask plugin, for the document only (routes are validated by `api`)."""


def validated(model: type[BaseModel], data: Any) -> Any:
    """`data` as `model`, or the project's 422 naming the field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_error(err) from None


def body() -> Any:
    """The route's validated JSON body (see `api`)."""
    return g.body


def query() -> Any:
    """The route's validated query string (see `api`)."""
    return g.query


def new_spec() -> SpecTree:
    return SpecTree(
        "flask",
        backend=_Plugin,
        title=TITLE,
        version=VERSION,
        openapi_version="3.1.0",
        annotations=False,
        mode="strict",
        path="api/docs-unused",
        validation_error_status=422,
        validation_error_model=ErrorBody,
        naming_strategy=lambda model: model.__name__,
        nested_naming_strategy=lambda parent, child: child,
    )


SPEC = new_spec()

PUBLIC: dict[str, list[str]] = {}
BEARER = {"bearer": []}


def api(*, query: type[BaseModel] | None = None, json: type[BaseModel] | None = None, resp: Response,
        tags: Sequence[str] = (), public: bool = False) -> Callable[[Callable], Callable]:
    """Validate and document a route (goes under @require_auth / @require_instructor, so an
    anonymous caller gets 401 before any validation)."""
    optional = json is not None and not any(f.is_required() for f in json.model_fields.values())

    def decorate(fn: Callable) -> Callable:
        documented = SPEC.validate(query=query, json=json, resp=resp, tags=tags,
                                   security=PUBLIC if public else BEARER)(fn)
        metadata = SPEC._function_metadata.pop(documented)

        @wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                g.query = validated(query, get_multidict_items(request.args, query))
            if json is not None:
                # a route whose body is optional (every field optional) takes no body as {}
                raw = json_body() if request.get_data(cache=True).strip() or not optional else {}
                g.body = validated(json, raw)
            return fn(*args, **kwargs)

        SPEC._function_metadata[run] = metadata
        register_validated_function(run)
        return run

    return decorate


def service_spec(service: str) -> dict[str, Any]:
    """One service's part of the document: its blueprint's routes, nothing else."""
    routes = importlib.import_module(f"{service}.routes")
    app = Flask(f"openapi-{service}")
    app.register_blueprint(routes.bp)
    spec = new_spec()
    spec._function_metadata = SPEC._function_metadata  # the routes were decorated through SPEC
    spec.models = SPEC.models
    spec.register(app)
    with app.app_context():
        document = copy.deepcopy(spec.spec)
    # only this blueprint's routes (Flask adds /static)
    document["paths"] = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/")}
    return document


def route_rules(service: str) -> list[tuple[str, str]]:
    """(METHOD, OpenAPI path) of every route the service's blueprint declares."""
    routes = importlib.import_module(f"{service}.routes")
    app = Flask(f"rules-{service}")
    app.register_blueprint(routes.bp)
    plugin = _Plugin(new_spec())
    out = []
    for rule in app.url_map.iter_rules():
        if not str(rule).startswith("/api/"):
            continue
        path, _ = plugin.parse_path(rule, None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def merged_spec(services: Sequence[str] = API_PARTS) -> dict[str, Any]:
    """The whole public API: every service's part, merged, with the shared conventions added."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": (
                "The public REST API of papertrade, at one origin. Money is a decimal string in "
                "responses and a JSON number or string in requests. Errors are "
                "{\"error\": {\"code\", \"message\", \"field\"}}. Log in with POST /api/sessions and send "
                "`Authorization: Bearer <token>`."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "tags": [],
    }
    seen_tags: set[str] = set()
    for service in services:
        part = service_spec(service)
        for path, ops in part["paths"].items():
            document["paths"].setdefault(path, {}).update(ops)
        document["components"]["schemas"].update(part["components"]["schemas"])
        for tag in part.get("tags", []):
            if tag["name"] not in seen_tags:
                seen_tags.add(tag["name"])
                document["tags"].append(tag)
    _finish(document)
    return document


def _finish(document: dict[str, Any]) -> None:
    """What SpecTree does not say by itself: Retry-After, CSV bodies, 401 wherever a token is needed."""
    retry_after = {"Retry-After": {"description": "seconds to wait before retrying",
                                   "schema": {"type": "integer", "minimum": 0}}}
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    document["components"]["schemas"].setdefault("ErrorBody", ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"))
    defs = document["components"]["schemas"]["ErrorBody"].pop("$defs", {})
    document["components"]["schemas"].update(defs)
    for schema in document["components"]["schemas"].values():
        # a list validated item by item by the route (a batch) is documented with its items' model
        for prop in schema.get("properties", {}).values():
            if "x-items" in prop:
                prop["items"] = {"$ref": f"#/components/schemas/{prop.pop('x-items')}"}
    for path, ops in document["paths"].items():
        for op in ops.values():
            # SpecTree's default summary is "place_order <POST>"; a route without a docstring reads better as words
            named = re.fullmatch(r"(\w+) <[A-Z]+>", op.get("summary", ""))
            if named:
                op["summary"] = named.group(1).replace("_", " ").capitalize()
            resps = op["responses"]
            secured = op.get("security") != []
            if secured:
                resps.setdefault("401", {"description": ERROR_TEXT[401],
                                         "content": {"application/json": {"schema": error_ref}}})
            body = op.get("requestBody")
            if body:
                ref = body["content"]["application/json"]["schema"].get("$ref", "")
                model = document["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
                # every field optional: the body may be left out (market open, bots start, scenario load)
                body["required"] = bool(model.get("required"))
                for code in (400, 413):
                    resps.setdefault(str(code), {"description": ERROR_TEXT[code],
                                                 "content": {"application/json": {"schema": error_ref}}})
            for code, resp in resps.items():
                if code.isdigit() and int(code) >= 400:
                    resp["description"] = ERROR_TEXT.get(int(code), resp.get("description", ""))
                if code in ("429", "503"):
                    resp["headers"] = retry_after
            ok = [c for c in resps if c.startswith("2")]
            if path.endswith(".csv"):
                for c in ok:
                    resps[c] = {"description": "CSV with a header row",
                                "content": {"text/csv": {"schema": {"type": "string"}}}}
            for c in ok:
                resps[c].setdefault("description", "done")
        # path parameters: SpecTree marks them; keep ids readable
    document["paths"] = dict(sorted(document["paths"].items()))
