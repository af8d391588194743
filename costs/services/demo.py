"""Demo data: prices for the offline simulator's models and a few real ones, a demo budget, and two weeks
of simulated usage and outcomes so the cost dashboards have something to show."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costs.choices import BudgetMode, BudgetPeriod, BudgetScope, PriceMatch
from costs.models import Budget, ModelPrice, UsageRecord
from costs.services.budgets import budget_save
from costs.services.usage import OutcomeInput, UsageInput, outcome_ingest, usage_ingest
from governance.llm import Usage
from governance.models import Project

DEMO_PRICES_FROM = datetime(2024, 1, 1, tzinfo=UTC)

# (provider, model, match, input, output, cache read, cache write, long threshold, long input, long output)
DEMO_PRICES: list[tuple[str, str, str, str, str, str | None, str | None, int | None, str | None, str | None]] = [
    ("offline", "sim-small", PriceMatch.EXACT, "0.10", "0.40", "0.025", None, None, None, None),
    ("offline", "sim-large", PriceMatch.EXACT, "2.50", "10.00", "1.25", None, None, None, None),
    ("offline", "sim-judge", PriceMatch.EXACT, "0.15", "0.60", "0.075", None, None, None, None),
    ("openai", "gpt-4o", PriceMatch.EXACT, "2.50", "10.00", "1.25", None, None, None, None),
    ("openai", "gpt-4o-2024-*", PriceMatch.PATTERN, "2.50", "10.00", "1.25", None, None, None, None),
    ("openai", "gpt-4o-mini", PriceMatch.EXACT, "0.15", "0.60", "0.075", None, None, None, None),
    ("openai", "gpt-4.1-mini", PriceMatch.EXACT, "0.40", "1.60", "0.10", None, None, None, None),
    ("anthropic", "claude-3-5-haiku-*", PriceMatch.PATTERN, "0.80", "4.00", "0.08", "1.00", None, None, None),
    ("anthropic", "claude-sonnet-4-*", PriceMatch.PATTERN, "3.00", "15.00", "0.30", "3.75", 200_000, "6.00", "22.50"),
]


def _d(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def demo_seed_costs(project: Project) -> None:
    """Idempotent: global demo prices (effective 2024-01-01) and a soft monthly budget for the demo project.

    Prices are examples for the demo, not a maintained price list: import the providers' current
    lists with ``manage.py costs_import_prices``.
    """
    for provider, model, match, inp, out, cread, cwrite, threshold, linp, lout in DEMO_PRICES:
        if ModelPrice.objects.filter(
            project__isnull=True, provider=provider, model=model, effective_from=DEMO_PRICES_FROM
        ).exists():
            continue
        price = ModelPrice(
            provider=provider,
            model=model,
            match=match,
            input_per_mtok=Decimal(inp),
            output_per_mtok=Decimal(out),
            cache_read_per_mtok=_d(cread),
            cache_write_per_mtok=_d(cwrite),
            long_context_threshold=threshold,
            long_input_per_mtok=_d(linp),
            long_output_per_mtok=_d(lout),
            effective_from=DEMO_PRICES_FROM,
            note="demo price",
        )
        price.full_clean()
        price.save()
    if not Budget.objects.filter(project=project, name="demo monthly").exists():
        budget_save(
            budget=Budget(
                project=project,
                name="demo monthly",
                scope=BudgetScope.PROJECT,
                period=BudgetPeriod.MONTH,
                limit_usd=Decimal("50"),
                soft_alert_pct=80,
                mode=BudgetMode.SOFT,
            )
        )
    demo_usage_seed(project)


# (feature, customer, model, outcome value in USD): initech is served by the large model for little
# value, and search earns less than it costs: the margin report shows both as negative.
_DEMO_TRAFFIC = [
    ("support", "acme", "sim-small", "0.50"),
    ("support", "globex", "sim-small", "0.50"),
    ("support", "initech", "sim-large", "0.005"),
    ("search", "acme", "sim-small", "0.02"),
    ("search", "initech", "sim-large", "0.002"),
]


def demo_usage_seed(project: Project, *, traces: int = 240, days: int = 14) -> None:
    """Deterministic simulated traffic (idempotent by client_id): retries, identical repeated
    requests, failed runs and outcomes, so every report has rows. Marked simulated by its provider."""
    if UsageRecord.objects.filter(project=project, client_id__startswith="demo-").exists():
        return
    rng = random.Random(7)  # noqa: S311  (reproducible demo data, not a secret)
    now = datetime.now(UTC).replace(microsecond=0)
    usage: list[UsageInput] = []
    outcomes: list[OutcomeInput] = []
    for n in range(traces):
        feature, customer, model, value = _DEMO_TRAFFIC[n % len(_DEMO_TRAFFIC)]
        at = now - timedelta(minutes=rng.randint(5, days * 24 * 60))
        trace_id = hashlib.sha256(f"demo-trace-{n}".encode()).hexdigest()[:32]
        question = n % 40  # the same question asked again: identical requests, recomputed
        request_hash = hashlib.sha256(f"{feature}:{model}:{question}".encode()).hexdigest()
        attempts = 2 if rng.random() < 0.15 else 1  # a retried call: the first attempt failed
        failed = rng.random() < 0.08  # the whole run failed: cost without an outcome
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            usage.append(
                UsageInput(
                    client_id=f"demo-{n}-{attempt}",
                    provider="offline",
                    model=model,
                    usage=Usage(uncached_input_tokens=rng.randint(400, 2500), output_tokens=rng.randint(50, 600)),
                    occurred_at=at + timedelta(seconds=attempt),
                    status=("error" if failed else "ok") if last else "retry",
                    attempt=attempt,
                    feature=feature,
                    customer=customer,
                    trace_id=trace_id,
                    latency_ms=rng.randint(200, 3000),
                    request_hash=request_hash,
                )
            )
        if rng.random() < 0.12:  # the user asked again a few minutes later: an identical request, paid twice
            usage.append(
                UsageInput(
                    client_id=f"demo-{n}-again",
                    provider="offline",
                    model=model,
                    usage=Usage(uncached_input_tokens=rng.randint(400, 2500), output_tokens=rng.randint(50, 600)),
                    occurred_at=at + timedelta(minutes=3),
                    feature=feature,
                    customer=customer,
                    trace_id=trace_id,
                    latency_ms=rng.randint(200, 3000),
                    request_hash=request_hash,
                )
            )
        if not failed:
            outcomes.append(
                OutcomeInput(
                    client_id=f"demo-outcome-{n}",
                    kind="ticket_resolved" if feature == "support" else "search_answered",
                    success=rng.random() < 0.8,
                    occurred_at=at + timedelta(minutes=2),
                    trace_id=trace_id,
                    value_usd=Decimal(value),
                    customer=customer,
                    feature=feature,
                )
            )
    usage_ingest(project=project, api_key=None, records=usage)
    outcome_ingest(project=project, api_key=None, outcomes=outcomes)
