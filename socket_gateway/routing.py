"""Which service owns which public path: the single origin's routing table.

The gateway forwards /api/<prefix>... to the owning service's API unchanged.
docs/architecture.md shows this table; tests/test_routing.py checks every
route of every service is reachable through it.
"""

from __future__ import annotations

ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/users", "user_accounts"),
    ("/api/sessions", "user_accounts"),
    ("/api/settings", "user_accounts"),
    ("/api/simulation", "user_accounts"),
    ("/api/portfolios", "user_portfolio"),
    ("/api/leaderboard", "user_portfolio"),
    ("/api/stocks", "stock_data"),
    ("/api/market", "stock_data"),
    ("/api/orders", "stock_ordering"),
    ("/api/books", "order_matching"),
    # before /api/exports: the one export that is not user_portfolio's (first match wins)
    ("/api/exports/orders.csv", "stock_ordering"),
    ("/api/exports", "user_portfolio"),
    ("/api/bots", "house_bots"),
    ("/api/scenarios", "house_bots"),
)


def owner_of(path: str) -> str | None:
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None
