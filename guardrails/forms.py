from __future__ import annotations

from typing import Any

from django import forms

from guardrails.engine import KINDS
from guardrails.models import GuardRule


def _kind_choices() -> list[tuple[str, str]]:
    # A callable: read when the form is built, so kinds registered later are offered too.
    return KINDS.choices()


class GuardRuleForm(forms.ModelForm[GuardRule]):
    """The rule editor: ``kind`` is a menu of the registered kinds (the model field has no
    fixed choices); the model's ``clean()`` validates the config against the kind."""

    kind = forms.ChoiceField(choices=_kind_choices, help_text="Its tier decides when the rule runs.")

    class Meta:
        model = GuardRule
        fields = ["policy", "name", "kind", "stage", "action", "severity", "enabled", "fail_mode", "position", "config"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Keep an unknown kind (a rule saved by a process with a plug-in this one lacks)
        # visible instead of silently swapping it for the first choice.
        current = self.initial.get("kind") or (self.instance.kind if self.instance.pk else "")
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        if current and current not in KINDS:
            field.choices = [*KINDS.choices(), (current, f"{current} (not registered)")]


class TryItForm(forms.Form):
    """The policy page's "try it" box."""

    stage = forms.ChoiceField(choices=[("input", "input"), ("output", "output")], initial="input")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "cols": 100}), strip=False, max_length=65_536)
