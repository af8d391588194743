"""The core's admin pages, one module per area."""

from governance.admin import core, provenance  # noqa: F401
