"""The costs app's typed errors (codes are part of the API contract)."""

from __future__ import annotations

from typing import Any

from governance.errors import ArbiterError


class SpendRefusedError(ArbiterError):
    """The spending protocol refused a call before it was made (nothing is held, nothing spent)."""

    status_code: int = 402


class BudgetExceededError(SpendRefusedError):
    """A hard budget refused a reservation: settled spend + open holds + this estimate > limit."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__("budget_exceeded", message, detail=detail)


class UnpricedSpendError(SpendRefusedError):
    """A model without a price under a hard budget: its worst case cannot be held, so it is refused."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__("price_unknown", message, detail=detail)


class PriceUnknownError(ArbiterError):
    """No ``ModelPrice`` applies, so a worst-case estimate cannot be made."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__("price_unknown", message, detail=detail)
