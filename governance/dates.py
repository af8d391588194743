"""The calendar range Arbiter accepts from clients and admin forms.

Wide enough for any real record, far enough from ``datetime``'s limits (years 1..9999) that adding
a day, taking 29 days off, or converting to a UTC+14 calendar never overflows: year 9999 in a
report window or an ``occurred_at`` used to be a 500.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError

MIN_YEAR, MAX_YEAR = 1970, 2999


def year_in_range(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def validate_date_in_range(value: date) -> None:
    """Django validator for date and datetime fields (forms and models)."""
    if not year_in_range(value.year):
        raise ValidationError(f"The year must be between {MIN_YEAR} and {MAX_YEAR}.", code="year_range")
