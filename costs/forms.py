"""Admin forms of the costs app: the dashboard filters and the price-list upload."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from governance.dates import validate_date_in_range
from governance.models import Project

REPORTS = [
    ("cost-per-outcome", "Cost per outcome"),
    ("recompute", "Hidden recompute"),
    ("margin", "Margin"),
    ("burn-down", "Budget burn-down"),
    ("missing-prices", "Missing prices"),
]


class DashboardFilterForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all(), required=False, empty_label=None)
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_date_in_range]
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_date_in_range]
    )
    group_by = forms.ChoiceField(
        choices=[("feature", "feature"), ("customer", "customer"), ("day", "day")], required=False
    )
    feature = forms.CharField(required=False, max_length=100)
    customer = forms.CharField(required=False, max_length=200)
    pipeline = forms.CharField(required=False, max_length=100)

    def __init__(self, *args: Any, projects: QuerySet[Project] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if projects is not None:
            self.fields["project"].queryset = projects  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        end: date = data.get("end") or timezone.now().date()
        start: date = data.get("start") or end - timedelta(days=29)
        if end < start:
            raise forms.ValidationError("The end is before the start.")
        if (end - start).days > 366:
            raise forms.ValidationError("Choose at most a year.")
        data["start"], data["end"] = start, end
        return data


class PriceImportForm(forms.Form):
    file = forms.FileField(help_text="JSON (a list of price objects) or CSV with a header row.")
    project = forms.ModelChoiceField(
        queryset=Project.objects.all(), required=False, help_text="Empty: the global price list."
    )

    def __init__(
        self, *args: Any, projects: QuerySet[Project] | None = None, global_allowed: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if projects is not None:
            self.fields["project"].queryset = projects  # type: ignore[attr-defined]
        self.global_allowed = global_allowed
        if not global_allowed:
            self.fields["project"].required = True
            self.fields["project"].help_text = "The project whose own prices these are."

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 2 * 1024 * 1024:
            raise forms.ValidationError("A price list is at most 2 MiB.")
        return upload
