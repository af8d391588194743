"""Which environment variables configuration may name as a secret (plain Python).

Providers (``Provider.api_key_env``) and, later, pipeline tool steps name the environment
variable holding their key; Arbiter reads it and sends it to a URL the same configuration
chose. Left open, that lets whoever edits a provider send any of the server's variables
(``DATABASE_URL``, ``SECRET_KEY``) to a server of their choice. So a name is usable only if

* it starts with ``ARBITER_PROVIDER_`` (e.g. ``ARBITER_PROVIDER_OPENAI_KEY``), or
* it is listed in ``ARBITER_PROVIDER_KEY_ENV_ALLOW`` (comma-separated; default
  ``OPENAI_API_KEY,ANTHROPIC_API_KEY``), read from the environment at each check so the
  plain-Python client and the Django side always agree,

and it is never one of the variables that configure Arbiter itself. The rule is checked
when configuration is saved (model ``clean()``, admin forms, services) and again when the
secret is read (the LLM client), so a row edited behind the admin's back cannot leak either.
"""

from __future__ import annotations

import os
import re

PREFIX = "ARBITER_PROVIDER_"
ALLOW_ENV = "ARBITER_PROVIDER_KEY_ENV_ALLOW"
DEFAULT_ALLOW = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,99}$")
# Arbiter's own configuration: never a provider's key, whatever the allow-list says.
_NEVER = frozenset(
    {
        ALLOW_ENV,
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "ARBITER_METRICS_TOKEN",
    }
)


def allowed_names() -> frozenset[str]:
    """The exact names allowed besides the ``ARBITER_PROVIDER_`` prefix."""
    raw = os.environ.get(ALLOW_ENV)
    names = DEFAULT_ALLOW if raw is None else tuple(n.strip() for n in raw.split(","))
    return frozenset(n for n in names if n)


def secret_env_name_error(name: str) -> str | None:
    """Why ``name`` may not be used as a secret's environment variable, or ``None`` if it may."""
    if not _NAME.match(name):
        return "Give the NAME of an environment variable (capital letters, digits, _), not a key."
    if name in _NEVER or name.endswith("_FILE"):
        return f"{name} configures Arbiter itself and cannot hold a provider's key."
    if name.startswith(PREFIX) or name in allowed_names():
        return None
    allowed = ", ".join(sorted(allowed_names())) or "none"
    return f"{name} is not allowed: use a variable named {PREFIX}… or one listed in {ALLOW_ENV} (now: {allowed})."


class SecretEnvNameError(ValueError):
    """A configured secret names an environment variable outside the rule."""


def check_secret_env_name(name: str) -> None:
    """Raise ``SecretEnvNameError`` unless ``name`` may be read as a secret."""
    error = secret_env_name_error(name)
    if error is not None:
        raise SecretEnvNameError(error)
