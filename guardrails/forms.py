from __future__ import annotations

from django import forms


class TryItForm(forms.Form):
    """The policy page's "try it" box."""

    stage = forms.ChoiceField(choices=[("input", "input"), ("output", "output")], initial="input")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5, "cols": 100}), strip=False, max_length=65_536)
