"""Finding the price in force for a call, and importing price lists (JSON or CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from costs.choices import PriceMatch
from costs.models import ModelPrice
from governance.errors import ArbiterError
from governance.models import Project

PRICE_FIELDS = (
    "input_per_mtok",
    "output_per_mtok",
    "cache_read_per_mtok",
    "cache_write_per_mtok",
    "long_input_per_mtok",
    "long_output_per_mtok",
    "long_cache_read_per_mtok",
    "long_cache_write_per_mtok",
)


class PriceBook:
    """Every price row visible to one project, loaded once; picks the row in force for a call.

    Precedence: the project's own row over a global one, an exact model name over a pattern
    (a longer pattern over a shorter), the provider name over its kind, then the latest
    ``effective_from`` not after the call.
    """

    def __init__(self, rows: Iterable[ModelPrice]) -> None:
        self._rows = list(rows)

    @classmethod
    def load(cls, *, project_id: int | None, providers: Iterable[str] | None = None) -> PriceBook:
        """The project's and the global rows; only those of ``providers`` (names or kinds) when given,
        which is all one call needs."""
        q = Q(project__isnull=True) | Q(project_id=project_id) if project_id else Q(project__isnull=True)
        rows = ModelPrice.objects.filter(q)
        if providers is not None:
            rows = rows.filter(provider__in=[p for p in providers if p])
        return cls(rows)

    def find(self, *, provider: str, model: str, at: datetime, provider_kind: str = "") -> ModelPrice | None:
        best: ModelPrice | None = None
        best_rank: tuple[int, int, int, int, float] | None = None
        for row in self._rows:
            if row.provider not in (provider, provider_kind) or row.effective_from > at or not row.matches(model):
                continue
            rank = (
                1 if row.project_id is not None else 0,
                1 if row.match == PriceMatch.EXACT else 0,
                len(row.model),
                1 if row.provider == provider else 0,
                row.effective_from.timestamp(),
            )
            if best_rank is None or rank > best_rank:
                best, best_rank = row, rank
        return best


def price_find(
    *, project_id: int | None, provider: str, model: str, at: datetime | None = None, provider_kind: str = ""
) -> ModelPrice | None:
    """The price in force for one call, or ``None`` when the model has no price."""
    return PriceBook.load(project_id=project_id, providers=(provider, provider_kind)).find(
        provider=provider, provider_kind=provider_kind, model=model, at=at or timezone.now()
    )


@dataclass
class PriceImportResult:
    created: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _parse_rows(content: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "json":
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise ArbiterError("invalid_price_list", f"Not valid JSON: {exc}") from exc
        if isinstance(data, dict):
            data = data.get("prices")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ArbiterError("invalid_price_list", 'Expected a list of objects (or {"prices": [...]}).')
        return data
    if fmt == "csv":
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(io.StringIO(content))
        ]
    raise ArbiterError("invalid_price_list", f"Unknown format {fmt!r}: use json or csv.")


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        # str() first: a JSON float like 0.15 must become Decimal("0.15"), not its binary expansion.
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError({name: f"{value!r} is not a number"}) from exc


def _effective_from(value: Any) -> datetime:
    if not value:
        return timezone.now()
    text = str(value)
    parsed = parse_datetime(text)
    if parsed is None:
        day = parse_date(text)
        if day is None:
            raise ValidationError({"effective_from": f"{text!r} is not a date or datetime"})
        parsed = datetime(day.year, day.month, day.day)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)


def price_list_import(*, content: str, fmt: str, project: Project | None = None) -> PriceImportResult:
    """Add the prices of a JSON or CSV price list; all-or-nothing.

    Each row: ``provider``, ``model``, optional ``match`` (exact|pattern), the ``*_per_mtok``
    prices, optional ``long_context_threshold`` and ``effective_from`` (date or datetime,
    default now). A row identical to an existing one (same provider, model and
    ``effective_from``) is left alone, so importing the same file twice changes nothing.
    A price change is a new row with a later ``effective_from``: history is never rewritten.
    """
    result = PriceImportResult()
    rows = _parse_rows(content, fmt)
    prices: list[ModelPrice] = []
    for index, raw in enumerate(rows, start=1):
        try:
            threshold: Any = raw.get("long_context_threshold")
            price = ModelPrice(
                project=project,
                provider=str(raw.get("provider", "")).strip(),
                model=str(raw.get("model", "")).strip(),
                match=str(raw.get("match") or PriceMatch.EXACT),
                long_context_threshold=int(threshold) if threshold not in (None, "") else None,
                effective_from=_effective_from(raw.get("effective_from")),
                note=str(raw.get("note", ""))[:200],
                **{name: _decimal(raw.get(name), name) for name in PRICE_FIELDS},
            )
            price.full_clean(exclude=["project"], validate_constraints=False)
        except (ValidationError, ValueError, TypeError) as exc:
            messages = exc.message_dict if isinstance(exc, ValidationError) and hasattr(exc, "error_dict") else str(exc)
            result.errors.append(f"row {index}: {messages}")
            continue
        prices.append(price)
    if result.errors:
        raise ArbiterError("invalid_price_list", "The price list has invalid rows.", detail=result.errors)
    with transaction.atomic():
        for price in prices:
            exists = ModelPrice.objects.filter(
                project=project, provider=price.provider, model=price.model, effective_from=price.effective_from
            ).exists()
            if exists:
                result.unchanged += 1
                continue
            price.save()
            result.created += 1
    return result


def price_create(*, project: Project | None = None, **fields: Any) -> ModelPrice:
    price = ModelPrice(project=project, **fields)
    price.full_clean()
    price.save()
    return price
