"""Choices shared by the core's models, API and admin."""

from django.db import models


class ContentStorage(models.TextChoices):
    """How raw prompts and outputs are kept in provenance records."""

    RAW = "raw", "Raw text"
    REDACTED = "redacted", "Redacted (PII and secrets replaced)"
    HASHED = "hashed", "Hashed only (SHA-256)"


class Scope(models.TextChoices):
    """What an API key may do. A view names the scopes it needs; deny by default."""

    GUARD_CHECK = "guard:check", "Run guard checks"
    RUNS_WRITE = "runs:write", "Start and control pipeline runs"
    RUNS_READ = "runs:read", "Read pipeline runs"
    ENVELOPES_WRITE = "envelopes:write", "Record decision envelopes and spans"
    ENVELOPES_READ = "envelopes:read", "Read decision envelopes and traces"
    REVIEWS_WRITE = "reviews:write", "Record operator reviews"
    EVALS_RUN = "evals:run", "Run evals and eval gates"
    COSTS_READ = "costs:read", "Read usage and cost reports"
    COSTS_WRITE = "costs:write", "Record usage and outcomes"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)


class ProjectRole(models.TextChoices):
    """A staff user's role in one project (DESIGN.md: who may do what in the admin)."""

    OPERATOR = "operator", "Operator (review queue, run approvals, alerts)"
    POLICY_EDITOR = "policy_editor", "Policy editor (all configuration)"
    AUDITOR = "auditor", "Auditor (reads everything, changes nothing)"


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI-compatible chat completions"
    ANTHROPIC = "anthropic", "Anthropic Messages API"
    OFFLINE = "offline", "Offline simulator (simulated)"


class AlertSeverity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class AlertKind(models.TextChoices):
    BREAKER_OPEN = "breaker_open", "Circuit breaker opened"
    BUDGET_SOFT = "budget_soft", "Budget soft limit crossed"
    BUDGET_HARD = "budget_hard", "Budget hard limit reached"
    BUDGET_OVERRUN = "budget_overrun", "Budget overrun (spend settled beyond its hold)"
    GUARD_ERROR_RATE = "guard_error_rate", "Guard error rate high"
    GATE_FAILED = "gate_failed", "Eval gate failed"
    LEDGER_BROKEN = "ledger_broken", "Provenance ledger broken"
    DEPENDENCY_DOWN = "dependency_down", "Dependency unreachable (serving degraded)"
    OTHER = "other", "Other"
