"""Template tags for Arbiter's admin pages."""

from __future__ import annotations

from typing import Any

from django import template

from governance.admin.scoping import VIEW, access_for
from governance.selectors import Overview, overview_get

register = template.Library()


@register.simple_tag(takes_context=True)
def arbiter_overview(context: dict[str, Any]) -> Overview:
    """What needs attention in the signed-in user's projects (every project for a superuser)."""
    access = access_for(context["request"])
    return overview_get(project_ids=None if access.is_superuser else access.projects(VIEW))
