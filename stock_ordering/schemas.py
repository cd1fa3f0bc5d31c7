"""stock_ordering's request and response models: the shape of what comes in (validated
once, by @api or, for a batch's items, by the route) and goes out (documented in
/api/openapi.json). The rules (the 0.01 tick, which prices each type needs and
takes, who may order for others) are domain.new_order's."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictStr

from service_runtime.openapi import Body, Limit, Money, MoneyIn, Out, PositiveId, Query, Timestamp

Status = Literal["pending_new", "new", "partially_filled", "filled", "pending_cancel", "canceled", "expired",
                 "rejected", "replaced"]


class OrderRequest(Body):
    user_id: PositiveId | None = Field(None, description="instructors only: place it for this user")
    symbol: StrictStr = Field(description="1 to 8 upper-case letters or digits", examples=["AAPL"])
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit"] = Field(examples=["limit"])
    qty: int = Field(strict=True, description="whole shares, 1 to 1,000,000", examples=[10])
    time_in_force: Literal["day", "gtc", "ioc", "fok"] | None = Field(None, description="default day")
    limit_price: MoneyIn | None = Field(None, description="limit and stop_limit orders: > 0, <= 1,000,000, "
                                        "on the 0.01 tick")
    stop_price: MoneyIn | None = Field(None, description="stop and stop_limit orders: the trade price that "
                                       "triggers them (a buy at or above it, a sell at or below)")
    client_order_id: StrictStr | None = Field(
        None, description="1 to 48 printable characters; the same id and body returns the first order (200)")


class ReplaceRequest(Body):
    qty: int | None = Field(None, strict=True, description="the new order's shares (default: what the old one "
                            "still has open)")
    limit_price: MoneyIn | None = Field(None, description="limit and stop_limit orders")
    stop_price: MoneyIn | None = Field(None, description="stop and stop_limit orders")
    time_in_force: Literal["day", "gtc", "ioc", "fok"] | None = None
    client_order_id: StrictStr | None = Field(None, description="the new order's; a retry with the same one "
                                              "returns the same replacement")


class BatchRequest(Body):
    model_config = ConfigDict(extra="ignore")  # other fields have always been ignored here
    orders: list[Any] = Field(
        description="up to 1,000 orders (413 above); an item that fails validation gets its error in the results",
        json_schema_extra={"x-items": "OrderRequest"},  # documented as [OrderRequest], see openapi._finish
    )


class Order(Out):
    id: int
    client_order_id: str | None
    user_id: int
    symbol: str
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit"]
    qty: int
    limit_price: Money | None
    stop_price: Money | None
    triggered: bool | None = Field(description="stops: false until a trade reaches stop_price; null otherwise")
    replaces: int | None = Field(description="a replacement: the order it replaces")
    replaced_by: int | None = Field(description="the order replacing this one (from the request on)")
    time_in_force: Literal["day", "gtc", "ioc", "fok"]
    status: Status
    filled_qty: int
    filled_avg_price: Money | None
    reject_reason: str | None
    created_at: Timestamp
    updated_at: Timestamp


class OrderWithHistory(Order):
    history: list[dict[str, Any]]


class ItemError(Out):
    error: dict[str, Any] = Field(description="{code, message, field?, status}")


class BatchResults(Out):
    results: list[Order | ItemError]


class OrderListQuery(Query):
    status: Literal["open", "closed", "all"] | None = Field(None, description="default all")
    symbol: str | None = None
    user_id: str | None = Field(None, description="instructors only: this user's orders (default everyone's)")
    role: Literal["trader", "bot", "instructor"] | None = Field(
        None, description="instructors only: the orders of users of this role (the house bots read theirs)")
    limit: Limit = None


class CancelAllQuery(Query):
    symbol: str | None = None
