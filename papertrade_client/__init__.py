"""papertrade's Python client: typed REST calls, idempotent order entry with retries,
live pushes over Socket.IO, and the `papertrade` command line tool (the cli package)."""

from .client import DEFAULT_URL, Client
from .errors import PapertradeError
from .orders import OrderRequest, new_client_order_id
from .stream import Stream, StreamEvent
from .types import (
    Book,
    BookLevel,
    Candle,
    LeaderboardRow,
    Market,
    Order,
    Portfolio,
    Position,
    Price,
    Session,
    Stock,
    Trade,
    User,
)

__all__ = [
    "DEFAULT_URL", "Book", "BookLevel", "Candle", "Client", "LeaderboardRow", "Market", "Order", "OrderRequest",
    "PapertradeError", "Portfolio", "Position", "Price", "Session", "Stock", "Stream", "StreamEvent", "Trade",
    "User", "new_client_order_id",
]
