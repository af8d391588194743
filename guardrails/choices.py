"""Choices shared by the guardrails models, API and admin (values match the engine's enums)."""

from django.db import models


class Stage(models.TextChoices):
    INPUT = "input", "Input (before the model)"
    OUTPUT = "output", "Output (after the model)"
    BOTH = "both", "Both"


class RuleKind(models.TextChoices):
    REGEX = "regex", "Regex (RE2) — tier 1"
    PHRASES = "phrases", "Phrases on normalised text — tier 1"
    PII = "pii", "PII — tier 1"
    SECRETS = "secrets", "Secrets — tier 1"
    LENGTH = "length", "Length limits — tier 1"
    CANARY = "canary", "Canary tokens — tier 1"
    PROMPT_LEAK = "prompt_leak", "System-prompt leak — tier 1"
    JSON_SCHEMA = "json_schema", "JSON Schema — tier 1"
    CLASSIFIER = "classifier", "Classifier — tier 2"
    LLM_GUARD = "llm_guard", "LLM guard — tier 3"


class Action(models.TextChoices):
    BLOCK = "block", "Block"
    REDACT = "redact", "Redact"
    FLAG = "flag", "Flag for review"
    LOG = "log", "Log only"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class FailMode(models.TextChoices):
    OPEN = "open", "Fail open (allow when the guard errors)"
    CLOSED = "closed", "Fail closed (block when the guard errors)"
