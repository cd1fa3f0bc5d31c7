"""Bearer tokens: HS256-signed JWTs that every service verifies locally.

user_accounts issues them (`issue_token`); the other services only verify, with
the shared PAPERTRADE_SECRET_KEY, and never call user_accounts to do it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

ROLES = ("trader", "instructor", "bot")
ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: str
    name: str
    epoch: int
    token_id: str

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"


class InvalidToken(Exception):
    pass


def issue_token(secret: str, user_id: int, role: str, name: str, epoch: int, ttl_seconds: int) -> tuple[str, str]:
    """Return (token, token id)."""
    if not secret:
        raise RuntimeError("PAPERTRADE_SECRET_KEY is not set")
    now = int(time.time())
    token_id = uuid.uuid4().hex
    claims = {
        "sub": str(user_id),
        "role": role,
        "name": name,
        "epoch": epoch,
        "jti": token_id,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), token_id


def verify_token(secret: str, token: str) -> Principal:
    if not secret:
        raise InvalidToken("server has no secret key")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "role", "jti"]}
        )
        role = claims["role"]
        if role not in ROLES:
            raise InvalidToken("unknown role")
        return Principal(
            user_id=int(claims["sub"]),
            role=role,
            name=str(claims.get("name", "")),
            epoch=int(claims.get("epoch", 1)),
            token_id=str(claims["jti"]),
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidToken("invalid token") from exc
