"""Admin forms for the core; they validate with the same services the API and commands use."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from governance.choices import Scope
from governance.models import Project

#: Scopes that let a key act as an operator: only an operator of the project may grant them,
#: or a policy editor could issue themselves a key that approves flagged decisions.
OPERATOR_SCOPES = frozenset({Scope.REVIEWS_WRITE.value})


class ApiKeyCreateForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all())
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. 'checkout-service'.")
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)
    expires_at = forms.DateTimeField(required=False, help_text="Optional, e.g. 2027-01-31 00:00.")

    def __init__(
        self,
        *args: Any,
        projects: QuerySet[Project] | None = None,
        operator_projects: Collection[int] | None = None,
        **kwargs: Any,
    ) -> None:
        """``projects``: where the user may issue keys; ``operator_projects``: where they may also
        grant the operator scopes (``None``: everywhere, a superuser)."""
        super().__init__(*args, **kwargs)
        if projects is not None:
            self.fields["project"].queryset = projects  # type: ignore[attr-defined]
        self.operator_projects = operator_projects

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        expires_at = data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            self.add_error("expires_at", "The expiry must be in the future.")
        project: Project | None = data.get("project")
        granted = OPERATOR_SCOPES.intersection(data.get("scopes") or [])
        if project is None or not granted or self.operator_projects is None:
            return data
        if project.pk not in self.operator_projects:
            self.add_error("scopes", f"Only an operator of {project.slug} may grant {', '.join(sorted(granted))}.")
        return data
