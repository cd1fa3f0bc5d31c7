"""What a ticker symbol is: 1 to 8 upper-case letters or digits, nothing else."""

from __future__ import annotations

import re

_SYMBOL = re.compile(r"[A-Z0-9]{1,8}")


def is_symbol(value: object) -> bool:
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    return isinstance(value, str) and _SYMBOL.fullmatch(value) is not None
