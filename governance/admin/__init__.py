"""The core's admin pages, one module per area; ``scoping`` is what every app's admin builds on."""

from governance.admin import access, core, provenance  # noqa: F401
