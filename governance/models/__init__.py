"""The core's tables. One module per area; this package re-exports them for Django."""

from governance.models.core import Alert, ApiKey, ModelEndpoint, Project, ProjectMembership, Provider
from governance.models.provenance import (
    AppendOnlyError,
    ChainHead,
    DecisionEnvelope,
    Review,
    ReviewItem,
    Span,
)

__all__ = [
    "Alert",
    "ApiKey",
    "AppendOnlyError",
    "ChainHead",
    "DecisionEnvelope",
    "ModelEndpoint",
    "Project",
    "ProjectMembership",
    "Provider",
    "Review",
    "ReviewItem",
    "Span",
]
