"""Choices shared by the guardrails models, API and admin (values match the engine's enums).

Rule kinds are not here: they are a registry (`guardrails.engine.KINDS`), not a fixed list."""

from django.db import models


class Stage(models.TextChoices):
    INPUT = "input", "Input (before the model)"
    OUTPUT = "output", "Output (after the model)"
    BOTH = "both", "Both"


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
