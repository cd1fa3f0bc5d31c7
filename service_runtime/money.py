"""Money and quantities: Decimal only, on the 0.01 tick, never a float.

Prices are checked, not rounded: a price off the tick is an error the client
must see, while amounts we compute (price x qty, averages) are quantized here.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal, InvalidOperation

TICK = Decimal("0.01")
CENT = TICK
AVG_PRICE_PLACES = Decimal("0.0001")
MAX_PRICE = Decimal("1000000")
MAX_QTY = 1_000_000
ZERO = Decimal("0")


def to_decimal(value: object) -> Decimal:
    """Parse a JSON number or string into a Decimal; raise ValueError for anything else.

    Floats are refused on purpose: JSON is parsed with parse_float=Decimal, so a
    float here means a caller bypassed that and may already have lost precision.
    """
    if isinstance(value, bool):
        raise ValueError("must be a number or a decimal string")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            raise ValueError("must be a decimal number")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError("must be a decimal number") from exc
    else:
        raise ValueError("must be a number or a decimal string")
    if not result.is_finite():
        raise ValueError("must be a finite number")
    return result


def is_on_tick(price: Decimal) -> bool:
    try:
        return price == price.quantize(TICK, rounding=ROUND_DOWN)
    except InvalidOperation:  # too many digits to have cents at all
        return False


def money(value: Decimal) -> Decimal:
    """Quantize a computed cash amount to the cent (banker's rounding never needed for
    price x qty, which is exact; used for derived values such as P&L)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def avg_price(filled_qty: int, notional: Decimal) -> Decimal | None:
    """An order's average fill price (None before its first fill), to AVG_PRICE_PLACES.
    stock_ordering and the gateway's execution reports must agree to the last digit."""
    if not filled_qty:
        return None
    return (notional / filled_qty).quantize(AVG_PRICE_PLACES, rounding=ROUND_HALF_EVEN)


def price_floor(value: Decimal) -> Decimal:
    return value.quantize(TICK, rounding=ROUND_DOWN)


def price_ceil(value: Decimal) -> Decimal:
    return value.quantize(TICK, rounding=ROUND_UP)


def fmt(value: Decimal | None) -> str | None:
    """Money as a JSON string: plain notation, never exponent form."""
    if value is None:
        return None
    return format(value, "f")
