"""The OpenAPI document covers every route of every service, is valid OpenAPI 3.1,
documents the error shape on every operation, and the gateway serves it and the docs page."""

from __future__ import annotations

import json

import pytest
from openapi_spec_validator import validate
from pydantic import ValidationError

from service_runtime.config import Settings
from service_runtime.openapi import API_PARTS, merged_spec, route_rules, validation_error
from socket_gateway.app import Gateway
from socket_gateway.routing import owner_of
from stock_ordering.schemas import OrderRequest

SPEC = merged_spec()


def test_the_document_is_valid_openapi_3():
    assert SPEC["openapi"].startswith("3.")
    validate(SPEC)


@pytest.mark.parametrize("service", API_PARTS)
def test_every_route_of_every_service_is_in_the_document(service):
    rules = route_rules(service)
    assert rules, service
    for method, path in rules:
        assert method.lower() in SPEC["paths"].get(path, {}), f"{method} {path} ({service}) is not documented"
        assert owner_of(path.replace("{", "x").replace("}", "")) == service


def test_every_documented_path_belongs_to_a_service():
    documented = {(m.upper(), p) for p, ops in SPEC["paths"].items() for m in ops}
    declared = {rule for service in API_PARTS for rule in route_rules(service)}
    assert documented == declared


def test_every_operation_documents_its_errors():
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            codes = op["responses"]
            assert any(c.startswith("2") for c in codes), where
            assert "503" in codes and "Retry-After" in codes["503"]["headers"], where
            if op["security"]:  # needs a token
                assert "401" in codes, where
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(codes), where
            for code, resp in codes.items():
                if int(code) >= 400:
                    assert resp["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
            if "429" in codes:
                assert "Retry-After" in codes["429"]["headers"], where
    assert SPEC["paths"]["/api/orders"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    assert SPEC["paths"]["/api/exports/orders.csv"]["get"]["responses"]["200"]["content"] == {
        "text/csv": {"schema": {"type": "string"}}}


def test_the_order_request_schema_is_the_validating_model():
    order = SPEC["components"]["schemas"]["OrderRequest"]
    assert order == {**OrderRequest.model_json_schema(), **order}
    assert set(order["required"]) == {"symbol", "side", "type", "qty"}
    assert order["additionalProperties"] is False
    assert order["properties"]["side"]["enum"] == ["buy", "sell"]
    batch = SPEC["components"]["schemas"]["BatchRequest"]
    assert batch["properties"]["orders"]["items"] == {"$ref": "#/components/schemas/OrderRequest"}
    # public reads need no token; everything else does
    assert SPEC["paths"]["/api/stocks"]["get"]["security"] == []
    assert SPEC["paths"]["/api/orders"]["get"]["security"] == [{"bearer": []}]


@pytest.mark.parametrize("body, field, message", [
    ({"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 1, "colour": "red"}, "colour", "unknown field 'colour'"),
    ({"symbol": "AAPL", "side": "up", "type": "limit", "qty": 1}, "side", "side: input should be 'buy' or 'sell'"),
    ({"symbol": "AAPL", "side": "buy", "type": "limit", "qty": "1"}, "qty", "qty: input should be a valid integer"),
    ({"symbol": "AAPL", "side": "buy", "type": "limit", "qty": True}, "qty", "qty: input should be a valid integer"),
    ({"side": "buy", "type": "limit", "qty": 1}, "symbol", "symbol: field required"),
    ([1, 2], None, "the body must be a JSON object"),
])
def test_a_validation_error_becomes_the_projects_422(body, field, message):
    with pytest.raises(ValidationError) as exc:
        OrderRequest.model_validate(body)
    err = validation_error(exc.value)
    assert (err.status, err.code, err.field, err.message) == (422, "invalid", field, message)


def _get(app, path):
    status = {}

    def start_response(line, headers):
        status["line"], status["headers"] = line, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return status["line"], status["headers"], body


def test_the_gateway_serves_the_document_and_an_offline_docs_page(tmp_path):
    gateway = Gateway(Settings(secret_key="x" * 40), static_root=tmp_path)
    line, headers, body = _get(gateway, "/api/openapi.json")
    assert line == "200 OK" and headers["Content-Type"] == "application/json"
    assert json.loads(body)["paths"].keys() == SPEC["paths"].keys()
    line, headers, page = _get(gateway, "/api/docs")
    assert line == "200 OK" and headers["Content-Type"].startswith("text/html")
    assert b"/api/openapi.json" in page and b"http" not in page.replace(b"http-equiv", b"")
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"/api/docs/{asset}".encode() in page
        line, headers, data = _get(gateway, f"/api/docs/{asset}")
        assert line == "200 OK" and len(data) > 10_000, asset
    assert b"SwaggerUIBundle" in _get(gateway, "/api/docs/swagger-ui-bundle.js")[2]
    assert _get(gateway, "/api/docs/nothing.js")[0] == "404 Not Found"
