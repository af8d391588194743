"""The core's tables. One module per area; this package re-exports them for Django."""

from governance.models.core import Alert, ApiKey, ModelEndpoint, Project, Provider

__all__ = ["Alert", "ApiKey", "ModelEndpoint", "Project", "Provider"]
