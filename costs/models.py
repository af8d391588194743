"""Prices, the usage ledger, outcomes, budgets with their holds, and the daily rollups.

Money in the ledger, counters and rollups is integer nanos (see ``costs.pricing``); prices and
budget limits, which people type in the admin, are ``Decimal`` USD.
"""

from __future__ import annotations

import fnmatch
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from costs.choices import (
    BudgetMode,
    BudgetPeriod,
    BudgetScope,
    CostSource,
    OverrunReason,
    PriceMatch,
    ReservationState,
    UsageSource,
    UsageStatus,
)
from costs.pricing import PriceTerms
from governance.models import ApiKey, Project

_PRICE = {"max_digits": 14, "decimal_places": 6, "validators": [MinValueValidator(Decimal(0))]}


class ModelPrice(models.Model):
    """What one model costs from ``effective_from`` on, in USD per million tokens.

    ``provider`` matches a usage row's provider name or kind (``openai``, ``anthropic``,
    ``offline``); ``model`` matches exactly or as a glob. A project's own row wins over a global
    one (``project`` empty), an exact match over a pattern, and among those the latest
    ``effective_from`` not after the call. Empty cache prices mean "same as input".
    """

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="model_prices",
        help_text="Empty: the global price list. Set: this project's negotiated price, which wins.",
    )  # fmt: skip
    provider = models.CharField(max_length=64, help_text="Provider name or kind, e.g. openai, anthropic, offline.")
    model = models.CharField(max_length=200)
    match = models.CharField(max_length=8, choices=PriceMatch.choices, default=PriceMatch.EXACT)
    input_per_mtok = models.DecimalField("input $/Mtok", **_PRICE)  # type: ignore[arg-type]
    output_per_mtok = models.DecimalField("output $/Mtok", **_PRICE)  # type: ignore[arg-type]
    cache_read_per_mtok = models.DecimalField("cache read $/Mtok", null=True, blank=True, **_PRICE)  # type: ignore[arg-type]
    cache_write_per_mtok = models.DecimalField("cache write $/Mtok", null=True, blank=True, **_PRICE)  # type: ignore[arg-type]
    long_context_threshold = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Input tokens above which the whole request is billed at the long-context prices.",
    )  # fmt: skip
    long_input_per_mtok = models.DecimalField("long input $/Mtok", null=True, blank=True, **_PRICE)  # type: ignore[arg-type]
    long_output_per_mtok = models.DecimalField("long output $/Mtok", null=True, blank=True, **_PRICE)  # type: ignore[arg-type]
    long_cache_read_per_mtok = models.DecimalField("long cache read $/Mtok", null=True, blank=True, **_PRICE)  # type: ignore[arg-type]
    long_cache_write_per_mtok = models.DecimalField("long cache write $/Mtok", null=True, blank=True, **_PRICE)  # type: ignore[arg-type]
    effective_from = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["provider", "model", "-effective_from"]
        indexes = [models.Index(fields=["provider", "effective_from"])]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model", "effective_from"],
                condition=Q(project__isnull=True),
                name="model_price_unique_global",
            ),
            models.UniqueConstraint(
                fields=["project", "provider", "model", "effective_from"],
                condition=Q(project__isnull=False),
                name="model_price_unique_project",
            ),
        ]

    def __str__(self) -> str:
        scope = self.project.slug if self.project_id and self.project else "global"
        return f"{self.provider}/{self.model} from {self.effective_from:%Y-%m-%d} ({scope})"

    def clean(self) -> None:
        long_prices = [
            self.long_input_per_mtok,
            self.long_output_per_mtok,
            self.long_cache_read_per_mtok,
            self.long_cache_write_per_mtok,
        ]
        if self.long_context_threshold is None and any(p is not None for p in long_prices):
            raise ValidationError({"long_context_threshold": "Long-context prices need a threshold."})
        if self.long_context_threshold is not None and self.long_input_per_mtok is None:
            raise ValidationError({"long_input_per_mtok": "A long-context tier needs at least its input price."})

    def matches(self, model: str) -> bool:
        if self.match == PriceMatch.EXACT:
            return self.model == model
        return fnmatch.fnmatchcase(model, self.model)

    def terms(self) -> PriceTerms:
        return PriceTerms(
            input=self.input_per_mtok,
            output=self.output_per_mtok,
            cache_read=self.cache_read_per_mtok if self.cache_read_per_mtok is not None else self.input_per_mtok,
            cache_write=self.cache_write_per_mtok if self.cache_write_per_mtok is not None else self.input_per_mtok,
            long_context_threshold=self.long_context_threshold,
            long_input=self.long_input_per_mtok,
            long_output=self.long_output_per_mtok,
            long_cache_read=self.long_cache_read_per_mtok,
            long_cache_write=self.long_cache_write_per_mtok,
        )


class UsageRecord(models.Model):
    """One model call attempt (or a tool call that reports a cost): the append-only usage ledger.

    Token buckets are normalised (``uncached_input_tokens`` never includes cached tokens).
    ``cost_nanos`` is NULL when no price was known: such a call is *unknown*, never zero.
    """

    project = models.ForeignKey(Project, null=True, on_delete=models.PROTECT, related_name="usage_records")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=8, choices=UsageSource.choices)
    client_id = models.CharField(max_length=200, blank=True, help_text="The caller's idempotency key (ingest).")
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)
    feature = models.CharField(max_length=100, blank=True)
    customer = models.CharField(max_length=200, blank=True)
    pipeline = models.CharField(max_length=100, blank=True)
    trace_id = models.CharField(max_length=64, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    step = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=64)
    provider_kind = models.CharField(max_length=16, blank=True)
    model = models.CharField(max_length=200)
    uncached_input_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_nanos = models.BigIntegerField(null=True, blank=True, help_text="USD * 10⁹; empty when unknown.")
    cost_source = models.CharField(max_length=8, choices=CostSource.choices)
    price = models.ForeignKey(ModelPrice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=UsageStatus.choices)
    error_code = models.CharField(max_length=64, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    request_hash = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the normalised request.")
    simulated = models.BooleanField(default=False)
    reservation_id = models.UUIDField(
        null=True, blank=True, help_text="The budget reservation this attempt spent against (the spending protocol)."
    )

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(
                fields=["reservation_id"], condition=Q(reservation_id__isnull=False), name="usage_reservation"
            ),
            models.Index(fields=["project", "occurred_at"], name="usage_project_time"),
            models.Index(fields=["project", "trace_id"], name="usage_project_trace"),
            models.Index(fields=["project", "run_id"], name="usage_project_run"),
            models.Index(fields=["project", "request_hash", "occurred_at"], name="usage_project_hash"),
            models.Index(
                fields=["project", "provider", "model"], condition=Q(cost_nanos__isnull=True), name="usage_unpriced"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "client_id"], condition=~Q(client_id=""), name="usage_unique_client_id"
            ),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="usage_attempt_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} @ {self.occurred_at:%Y-%m-%d %H:%M:%S}"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise ValueError("usage records are append-only")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def input_tokens_total(self) -> int:
        return self.uncached_input_tokens + self.cache_read_tokens + self.cache_write_tokens


class Outcome(models.Model):
    """A business outcome a service reports (a ticket resolved, an order placed), joined to usage by trace/run id."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="outcomes")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client_id = models.CharField(max_length=200)
    trace_id = models.CharField(max_length=64, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=100)
    success = models.BooleanField()
    value_nanos = models.BigIntegerField(default=0, help_text="USD * 10⁹ of business value.")
    customer = models.CharField(max_length=200, blank=True)
    feature = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["project", "occurred_at"], name="outcome_project_time"),
            # Partial: most outcomes carry only one of the ids, and the reports' EXISTS probes
            # must stay index lookups rather than scans of the empty-id rows.
            models.Index(fields=["project", "trace_id"], condition=~Q(trace_id=""), name="outcome_project_trace"),
            models.Index(fields=["project", "run_id"], condition=~Q(run_id=""), name="outcome_project_run"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["project", "client_id"], name="outcome_unique_client_id"),
            models.CheckConstraint(condition=~Q(trace_id="") | ~Q(run_id=""), name="outcome_has_trace_or_run"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({'success' if self.success else 'failure'})"


class Budget(models.Model):
    """A spending limit for a scope over a calendar-aligned period in the project's time zone.

    Hard budgets refuse a reservation that would take settled spend plus open holds over the
    limit; soft budgets only alert. Spend per period lives in :class:`BudgetCounter`.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budgets")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=BudgetScope.choices, default=BudgetScope.PROJECT)
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
        help_text="For the API-key scope only.",
    )  # fmt: skip
    scope_value = models.CharField(
        max_length=200, blank=True, help_text="The feature, customer or pipeline name, for those scopes."
    )
    period = models.CharField(max_length=8, choices=BudgetPeriod.choices, default=BudgetPeriod.MONTH)
    limit_usd = models.DecimalField(max_digits=14, decimal_places=6, validators=[MinValueValidator(Decimal(0))])
    soft_alert_pct = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Alert once per period when spend reaches this percentage of the limit.",
    )  # fmt: skip
    mode = models.CharField(max_length=4, choices=BudgetMode.choices, default=BudgetMode.HARD)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["project", "name"]
        indexes = [models.Index(fields=["project", "enabled", "scope"])]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="budget_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_scope_display()}, {self.period}, ${self.limit_usd})"

    def clean(self) -> None:
        if self.scope == BudgetScope.API_KEY:
            if self.api_key_id is None:
                raise ValidationError({"api_key": "An API-key budget names its key."})
            if self.project_id and self.api_key and self.api_key.project_id != self.project_id:
                raise ValidationError({"api_key": "The key belongs to another project."})
        elif self.api_key_id is not None:
            raise ValidationError({"api_key": "Only API-key budgets name a key."})
        needs_value = self.scope in {BudgetScope.FEATURE, BudgetScope.CUSTOMER, BudgetScope.PIPELINE}
        if needs_value and not self.scope_value:
            raise ValidationError({"scope_value": f"A {self.scope} budget names its {self.scope}."})
        if not needs_value and self.scope_value:
            raise ValidationError({"scope_value": "Only feature, customer and pipeline budgets take a value."})

    @property
    def scope_label(self) -> str:
        if self.scope == BudgetScope.PROJECT:
            return "project"
        if self.scope == BudgetScope.API_KEY:
            return f"api_key:{self.api_key.name if self.api_key else self.api_key_id}"
        return f"{self.scope}:{self.scope_value}"


class BudgetCounter(models.Model):
    """Spend and open holds of one budget in one period: the row the atomic reservation updates.

    ``limit_nanos`` is copied from the budget when the period starts (and refreshed when the
    budget is saved) so the admission check is one conditional UPDATE of this row alone.
    """

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="counters")
    period_key = models.CharField(max_length=16, help_text="e.g. 2025-06-03, 2025-W23, 2025-06, total.")
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    limit_nanos = models.BigIntegerField()
    settled_nanos = models.BigIntegerField(default=0)
    held_nanos = models.BigIntegerField(default=0)
    soft_alerted_at = models.DateTimeField(null=True, blank=True)
    hard_alerted_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["budget", "-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "period_key"], name="budget_counter_unique_period"),
            models.CheckConstraint(condition=Q(held_nanos__gte=0), name="budget_counter_held_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.budget.name} {self.period_key}"


class BudgetReservation(models.Model):
    """One spender's reservation: a hold on every applicable budget, settled, released or expired once.

    ``overrun_nanos`` is the part of the settlement that no hold covered: what a settle spent
    beyond its hold, or all of a settle that came after the hold expired. Always 0 for the
    spending protocol's own calls unless one outlived its deadline.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget_reservations")
    estimate_nanos = models.BigIntegerField()
    actual_nanos = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=ReservationState.choices, default=ReservationState.OPEN)
    overrun_nanos = models.BigIntegerField(default=0)
    overrun_reason = models.CharField(max_length=16, choices=OverrunReason.choices, blank=True, default="")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    feature = models.CharField(max_length=100, blank=True)
    customer = models.CharField(max_length=200, blank=True)
    pipeline = models.CharField(max_length=100, blank=True)
    trace_id = models.CharField(max_length=64, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=200, blank=True, help_text="What the spend is for, e.g. llm_guard:<rule>.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "expires_at"], name="reservation_open_expiry")]

    def __str__(self) -> str:
        return f"reservation {self.id} ({self.state})"


class BudgetHold(models.Model):
    """The part of a reservation held against one budget period's counter."""

    reservation = models.ForeignKey(BudgetReservation, on_delete=models.CASCADE, related_name="holds")
    counter = models.ForeignKey(BudgetCounter, on_delete=models.CASCADE, related_name="holds")
    amount_nanos = models.BigIntegerField()

    class Meta:
        ordering = ["reservation", "counter"]
        constraints = [models.UniqueConstraint(fields=["reservation", "counter"], name="budget_hold_unique")]

    def __str__(self) -> str:
        return f"hold {self.amount_nanos} on {self.counter_id}"


class UsageDaily(models.Model):
    """Usage summed per local day and feature/customer/pipeline/API key: what the reports read.

    Kept per (project, day) up to the day's watermark (``RollupDay``) by ``costs.rollup_recent``
    and rebuilt by ``costs.rollup_daily``; every column is additive, so a report over rollups
    plus the raw rows after the watermark equals the report over raw rows.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    feature = models.CharField(max_length=100, blank=True)
    customer = models.CharField(max_length=200, blank=True)
    pipeline = models.CharField(max_length=100, blank=True)
    # No FK constraint: a rollup keeps the id of a key deleted since, and needs no join to be written.
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    calls = models.BigIntegerField(default=0)
    unpriced_calls = models.BigIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    cost_nanos = models.BigIntegerField(default=0)
    retry_nanos = models.BigIntegerField(default=0)
    failed_nanos = models.BigIntegerField(default=0)
    duplicate_nanos = models.BigIntegerField(default=0)
    no_outcome_nanos = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "usage daily rollups"
        indexes = [models.Index(fields=["project", "day"], name="usage_daily_project_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.feature}/{self.customer}"


class RecomputeDaily(models.Model):
    """Recompute spend per local day and source (pipeline, step, model, service); rows with recompute only."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    feature = models.CharField(max_length=100, blank=True)
    customer = models.CharField(max_length=200, blank=True)
    pipeline = models.CharField(max_length=100, blank=True)
    step = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    # No FK constraint: a rollup keeps the id of a key deleted since, and needs no join to be written.
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    retry_nanos = models.BigIntegerField(default=0)
    failed_nanos = models.BigIntegerField(default=0)
    duplicate_nanos = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "recompute daily rollups"
        indexes = [models.Index(fields=["project", "day"], name="recompute_daily_project_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.pipeline}/{self.step} {self.model}"


class OutcomeDaily(models.Model):
    """Outcomes per local day and feature/customer."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    feature = models.CharField(max_length=100, blank=True)
    customer = models.CharField(max_length=200, blank=True)
    outcomes = models.BigIntegerField(default=0)
    successes = models.BigIntegerField(default=0)
    value_nanos = models.BigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "outcome daily rollups"
        indexes = [models.Index(fields=["project", "day"], name="outcome_daily_project_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.feature}/{self.customer}"


class RollupDay(models.Model):
    """A (project, local day) whose rollup rows hold every ledger row and outcome before ``complete_until``.

    ``complete_until`` is the day's watermark: the next local midnight once the day is complete,
    a few minutes ago for today. Reports read the rollups before it and raw rows after it, unless
    a :class:`RollupMark` before the watermark says the rollups went stale (late data).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    complete_until = models.DateTimeField()
    computed_at = models.DateTimeField(default=timezone.now)
    usage_rows = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["project", "-day"]
        constraints = [models.UniqueConstraint(fields=["project", "day"], name="rollup_day_unique")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day} until {self.complete_until:%Y-%m-%d %H:%M}"


class RollupMark(models.Model):
    """ "Rows that count on this local day changed from ``since`` on": written with every ledger row
    and outcome, in the writer's transaction, and consumed by the rollup that sees them.

    A mark before its day's watermark makes the day's rollups stale (reports read the day raw
    and the next rollup rebuilds it). Writers never read or lock ``RollupDay``, so an ingest
    that commits while a rollup runs cannot be lost: its mark survives the rollup it missed.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    since = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["project", "day", "since"], name="rollup_mark_project_day")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day} since {self.since:%H:%M:%S}"
