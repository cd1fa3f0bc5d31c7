"""`papertrade`: the exchange from a terminal or a script.

    papertrade --url http://localhost:8000 login 2
    papertrade stocks
    papertrade place AAPL buy 10 189.50
    papertrade orders --status open
    papertrade watch --symbol AAPL
    papertrade load orders.csv --concurrency 4 --batch-size 500

The login is kept in ~/.config/papertrade/config.json (PAPERTRADE_CLI_CONFIG);
the server is --url, else PAPERTRADE_URL, else the URL of the last login, else
http://localhost:8000. `--json` prints machine-readable output instead of tables.
Exit status: 0 done, 1 the server refused (the error is printed), 2 bad usage.

The commands live in one module a subject (session, market_data, account,
orders, watch, order_files); app.py holds the group, its context and the
error handling they share. Importing this package registers them all.
"""

from __future__ import annotations

from . import account, market_data, order_files, orders, session, watch
from .app import Cli, Ctx, cli, main, pass_ctx

__all__ = ["Cli", "Ctx", "account", "cli", "main", "market_data", "order_files", "orders", "pass_ctx", "session",
           "watch"]
