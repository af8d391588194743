"""Template tags for Arbiter's admin pages."""

from __future__ import annotations

from django import template

from governance.selectors import Overview, overview_get

register = template.Library()


@register.simple_tag
def arbiter_overview() -> Overview:
    return overview_get()
