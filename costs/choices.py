"""Choices shared by the costs models, API and admin."""

from django.db import models


class PriceMatch(models.TextChoices):
    EXACT = "exact", "Exact model name"
    PATTERN = "pattern", "Glob pattern (e.g. gpt-4o-mini-*)"


class UsageStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    RETRY = "retry", "Failed, retried"
    CANCELLED = "cancelled", "Cancelled"


class UsageSource(models.TextChoices):
    CLIENT = "client", "Arbiter's LLM client"
    INGEST = "ingest", "POST /api/v1/usage"


class CostSource(models.TextChoices):
    PRICED = "priced", "Priced from ModelPrice"
    REPORTED = "reported", "Reported by the caller"
    UNKNOWN = "unknown", "Unknown (no price)"


class BudgetScope(models.TextChoices):
    PROJECT = "project", "Whole project"
    API_KEY = "api_key", "API key (service)"
    FEATURE = "feature", "Feature"
    CUSTOMER = "customer", "Customer"
    PIPELINE = "pipeline", "Pipeline"


class BudgetPeriod(models.TextChoices):
    DAY = "day", "Day"
    WEEK = "week", "Week (Monday to Sunday)"
    MONTH = "month", "Calendar month"
    TOTAL = "total", "Total (never resets)"


class BudgetMode(models.TextChoices):
    HARD = "hard", "Hard: refuse spend over the limit"
    SOFT = "soft", "Soft: alert only"


class ReservationState(models.TextChoices):
    OPEN = "open", "Open (holding)"
    SETTLED = "settled", "Settled"
    RELEASED = "released", "Released (no call was made)"
    EXPIRED = "expired", "Expired (hold released, not settled)"


class OverrunReason(models.TextChoices):
    """Why a settlement spent more than its reservation held (see ``costs.services.budgets``)."""

    NONE = "", "None"
    LARGER_THAN_HOLD = "larger_than_hold", "Settled more than the hold"
    AFTER_EXPIRY = "after_expiry", "Settled after the hold expired"
