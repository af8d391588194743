"""Demo data: prices for the offline simulator's models and a few real ones, and a demo budget."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from costs.choices import BudgetMode, BudgetPeriod, BudgetScope, PriceMatch
from costs.models import Budget, ModelPrice
from costs.services.budgets import budget_save
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
