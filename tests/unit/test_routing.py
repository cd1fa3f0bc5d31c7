"""The single origin's routing table (socket_gateway.routing) reaches every service route,
and each service's handler table agrees with the catalog that binds its queue."""

from __future__ import annotations

import importlib

import pytest

from service_runtime.config import API_SERVICES, Settings
from service_runtime.entrypoints import service_handlers
from service_runtime.web import create_app
from socket_gateway.routing import ROUTES, owner_of

SETTINGS = Settings(secret_key="x" * 40)


@pytest.mark.parametrize(
    "path, owner",
    [
        ("/api/users", "user_accounts"),
        ("/api/users/7", "user_accounts"),
        ("/api/sessions", "user_accounts"),
        ("/api/sessions/current", "user_accounts"),
        ("/api/portfolios", "user_portfolio"),
        ("/api/portfolios/7", "user_portfolio"),
        ("/api/leaderboard", "user_portfolio"),
        ("/api/leaderboard/top", "user_portfolio"),
        ("/api/stocks", "stock_data"),
        ("/api/stocks/AAPL", "stock_data"),
        ("/api/stocks/AAPL/candles", "stock_data"),
        ("/api/stocks/AAPL/trades", "stock_data"),
        ("/api/market", "stock_data"),
        ("/api/market/open", "stock_data"),
        ("/api/orders", "stock_ordering"),
        ("/api/orders/batch", "stock_ordering"),
        ("/api/orders/12", "stock_ordering"),
        ("/api/books", "order_matching"),
        ("/api/books/AAPL", "order_matching"),
        ("/api/users/bulk", "user_accounts"),
        ("/api/settings", "user_accounts"),
        ("/api/simulation", "user_accounts"),
        ("/api/simulation/reset", "user_accounts"),
        ("/api/portfolios/7/ledger", "user_portfolio"),
        ("/api/exports/orders.csv", "stock_ordering"),
        ("/api/exports/trades.csv", "user_portfolio"),
        ("/api/exports/leaderboard.csv", "user_portfolio"),
        ("/api/exports/portfolios.csv", "user_portfolio"),
        ("/api/bots", "house_bots"),
        ("/api/bots/config", "house_bots"),
        ("/api/scenarios", "house_bots"),
        ("/api/scenarios/calm/load", "house_bots"),
    ],
)
def test_owner_of(path, owner):
    assert owner_of(path) == owner


@pytest.mark.parametrize(
    "path",
    [
        "/api/usersx",
        "/api/orders2",
        "/api/stocksAAPL",
        "/api/marketplace",
        "/api/",
        "/api",
        "/",
        "",
        "/healthz",
        "/users",
        "/apiorders",
        "/API/orders",
        "/api/unknown",
        "/api/botsx",
        "/api/scenario",
        "api/orders",
        "/api/settingsx",
    ],
)
def test_owner_of_nothing(path):
    assert owner_of(path) is None


def test_every_owner_is_a_service_and_every_service_is_reachable():
    owners = {service for _, service in ROUTES}
    assert owners == set(API_SERVICES)
    prefixes = [prefix for prefix, _ in ROUTES]
    assert len(prefixes) == len(set(prefixes))
    for prefix in prefixes:
        assert prefix.startswith("/api/")
        assert not prefix.endswith("/")


def _api_rules(service: str) -> list[str]:
    routes = importlib.import_module(f"{service}.routes")
    app = create_app(service, [routes.bp], SETTINGS)
    rules = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(f"{routes.bp.name}.")
    ]
    assert rules, f"{service}.routes registers no rules"
    return rules


@pytest.mark.parametrize("service", API_SERVICES)
def test_every_api_route_is_owned_by_its_service(service):
    rules = _api_rules(service)
    api_rules = [rule for rule in rules if rule.startswith("/api/")]
    assert api_rules, f"{service} has no /api/ routes"
    for rule in rules:
        # a blueprint route outside /api/ would not be reachable through the single origin
        assert rule.startswith("/api/"), (service, rule)
        assert owner_of(rule) == service, (service, rule, owner_of(rule))


def test_known_routes_present():
    expected = {
        "user_accounts": {"/api/users", "/api/sessions", "/api/users/bulk", "/api/settings", "/api/simulation",
                          "/api/simulation/reset"},
        "user_portfolio": {"/api/portfolios/<user_id_text>", "/api/leaderboard", "/api/portfolios",
                           "/api/portfolios/<user_id_text>/ledger", "/api/exports/leaderboard.csv",
                           "/api/exports/portfolios.csv", "/api/exports/trades.csv"},
        "stock_data": {
            "/api/stocks",
            "/api/stocks/<symbol>",
            "/api/stocks/<symbol>/candles",
            "/api/stocks/<symbol>/trades",
            "/api/market",
            "/api/market/<action>",
        },
        "stock_ordering": {"/api/orders", "/api/orders/batch", "/api/orders/<int:order_id>",
                           "/api/exports/orders.csv"},
        "order_matching": {"/api/books/<symbol>"},
        "house_bots": {"/api/bots", "/api/bots/config", "/api/bots/start", "/api/bots/stop", "/api/scenarios",
                       "/api/scenarios/<name>", "/api/scenarios/<name>/load"},
    }
    for service, rules in expected.items():
        assert rules <= set(_api_rules(service)), service


def test_handler_tables_concrete():
    assert service_handlers("stock_data").event_types == [
        "market.status_changed", "simulation.reset", "stock.listed", "trade.executed"]
    assert service_handlers("user_accounts").event_types == []
    assert service_handlers("user_accounts").service == "user_accounts"


def test_service_handlers_unknown_service():
    with pytest.raises(SystemExit):
        service_handlers("socket_gateway")


def test_the_bots_call_the_owning_service_directly_or_everything_through_an_origin():
    from house_bots.public_api import Endpoints

    direct = Endpoints("http://origin", {"stock_ordering": "http://orders", "order_matching": "http://books"})
    assert direct.base_for("/api/orders/batch") == "http://orders"
    assert direct.base_for("/api/books/AAPL") == "http://books"
    assert direct.base_for("/api/exports/orders.csv") == "http://orders"
    assert direct.base_for("/api/stocks") == "http://origin"  # a service it was not given
    assert direct.base_for("/nowhere") == "http://origin"
    assert Endpoints("http://origin").base_for("/api/orders") == "http://origin"
