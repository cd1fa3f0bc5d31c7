"""Inputs more than one test module feeds to the code under test."""

from __future__ import annotations

from decimal import Decimal

# Not a finite number, in every spelling a client (or a Decimal) can send: every
# money and price parser must refuse each one.
NOT_FINITE: tuple[str | Decimal, ...] = (
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    Decimal("NaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
)
