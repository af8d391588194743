"""The production profile: refuses a weak secret, and passes Django's deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "ARBITER_METRICS_TOKEN"}
    full_env = {k: v for k, v in os.environ.items() if k not in unset}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_production_passes_check_deploy():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING",
        ARBITER_ENV="production", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="arbiter.example.com",
        ARBITER_METRICS_TOKEN=secrets.token_urlsafe(32),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_serve_metrics_without_a_token():
    base = {"ARBITER_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(60), "ALLOWED_HOSTS": "a.example"}
    for token in ("", "short"):
        result = _manage("check", **base, ARBITER_METRICS_TOKEN=token)
        assert result.returncode != 0
        assert "ARBITER_METRICS_TOKEN" in result.stderr


def test_production_refuses_a_missing_secret_key():
    result = _manage("check", ARBITER_ENV="production", ALLOWED_HOSTS="arbiter.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _manage(
        "check", ARBITER_ENV="production", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="a.example", DEBUG="1"
    )
    assert result.returncode != 0
    assert "DEBUG" in result.stderr
