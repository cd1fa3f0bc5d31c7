"""user_accounts' request and response models: the shape of what comes in (validated
once, by @api) and goes out (documented in /api/openapi.json)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from service_runtime.openapi import Body, Money, MoneyIn, Out, PositiveId

CreatableRole = Literal["trader", "bot"]


class User(Out):
    id: int
    name: str
    role: Literal["trader", "instructor", "bot"]


class CreatedUser(User):
    starting_cash: Money | None = None
    holdings: dict[str, int] | None = None


class NewUser(Body):
    name: StrictStr = Field(description="unique, 1 to 64 characters")
    role: CreatableRole | None = Field(None, description="trader (default) or bot")
    starting_cash: MoneyIn | None = Field(None, description="default 100000")
    holdings: dict[str, StrictInt] | None = Field(None, description="{SYMBOL: shares}")


class Rename(Body):
    name: StrictStr = Field(description="unique, 1 to 64 characters")


class BulkUsers(Body):
    count: StrictInt | None = Field(None, description="how many traders (with prefix), up to 500")
    prefix: StrictStr | None = Field(None, description="names are '<prefix> <n>' (default Student)")
    csv: StrictStr | None = Field(None, description="or one user per line: name[,starting_cash][,SYMBOL...]")
    starting_cash: MoneyIn | None = None
    holdings: dict[str, StrictInt] | None = None
    role: CreatableRole | None = Field(None, description="trader (default) or bot")


class Settings(Out):
    commission_per_share: Money
    max_position: int | None
    max_order_qty: int | None


class SettingsUpdate(Body):
    """A partial update: only the fields sent change."""

    commission_per_share: MoneyIn | None = Field(None, description="0 turns it off")
    max_position: StrictInt | None = Field(None, description="null turns it off")
    max_order_qty: StrictInt | None = Field(None, description="null turns it off")


class Simulation(Out):
    epoch: int
    reset_at: str | None = Field(None, description="ISO 8601 time of the last reset (null before the first)")
    tokens_valid_from_epoch: int = Field(
        description="traders' and bots' tokens issued in an earlier epoch are refused (401): "
                    "a reset with revoke_tokens moved it; instructors' tokens are never refused by it")


class ResetRequest(Body):
    revoke_tokens: StrictBool = Field(
        False, description="also sign every trader and bot out: their tokens issued before this reset get 401 "
                           "\"token revoked by a reset; log in again\" on every service and the Socket.IO "
                           "connect (instructors' tokens are kept). The body may be left out")


class ResetStarted(Out):
    epoch: int
    tokens_valid_from_epoch: int


class NewSession(Body):
    model_config = ConfigDict(extra="ignore")  # other fields have always been ignored here
    user_id: PositiveId
    password: StrictStr | None = Field(None, description="instructors only; demo traders and bots need none")


class Session(Out):
    token: str
    user: User
