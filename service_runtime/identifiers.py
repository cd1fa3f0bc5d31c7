"""What identifiers look like at the edge: ticker symbols and numeric ids."""

from __future__ import annotations

import re

_SYMBOL = re.compile(r"[A-Z0-9]{1,8}")
MAX_ID = 2**31 - 1  # user ids are PostgreSQL integers


def is_symbol(value: object) -> bool:
    """1 to 8 upper-case letters or digits, nothing else."""
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    return isinstance(value, str) and _SYMBOL.fullmatch(value) is not None


def is_user_id(value: object) -> bool:
    """A JSON integer (not a boolean) that can be a user id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
