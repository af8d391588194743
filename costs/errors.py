"""The costs app's typed errors (codes are part of the API contract)."""

from __future__ import annotations

from typing import Any

from governance.errors import ArbiterError


class BudgetExceededError(ArbiterError):
    """A hard budget refused a reservation: settled spend + open holds + this estimate > limit."""

    status_code: int = 402

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__("budget_exceeded", message, detail=detail)


class PriceUnknownError(ArbiterError):
    """No ``ModelPrice`` applies, so a worst-case estimate cannot be made."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__("price_unknown", message, detail=detail)
