"""Admin forms for the core; they validate with the same services the API and commands use."""

from __future__ import annotations

from typing import Any

from django import forms

from governance.choices import Scope
from governance.models import Project


class ApiKeyCreateForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all())
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. 'checkout-service'.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    expires_at = forms.DateTimeField(required=False, help_text="Optional, e.g. 2027-01-31 00:00.")

    def clean(self) -> dict[str, Any]:
        from django.utils import timezone

        data = super().clean() or {}
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", "The expiry must be in the future.")
        return data
