"""Issue 8, item 7: a provider can name only an allowed environment variable as its key.

Before the fix ``api_key_env=DATABASE_URL`` was accepted and sent ``Bearer postgres://…`` to
the provider's URL. The rule is checked when a provider is saved (model ``clean()``, the
admin form) and again by the plain-Python client before it reads the variable.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from governance.llm import LlmClient, MemoryBreakerStore, ProviderConfigError
from governance.models import Provider
from governance.secret_env import SecretEnvNameError, check_secret_env_name, secret_env_name_error
from tests.governance.llm.factories import chat, openai_provider
from tests.support.fake_provider import FakeProviderServer

SERVER_SECRETS = ["DATABASE_URL", "SECRET_KEY", "REDIS_URL", "CELERY_BROKER_URL", "ARBITER_METRICS_TOKEN"]


@pytest.mark.parametrize("name", ["ARBITER_PROVIDER_OPENAI", "ARBITER_PROVIDER_X_1", "OPENAI_API_KEY"])
def test_allowed_names(name: str) -> None:
    assert secret_env_name_error(name) is None
    check_secret_env_name(name)


@pytest.mark.parametrize(
    "name",
    [
        *SERVER_SECRETS,
        "HOME",
        "PATH",
        "AWS_SECRET_ACCESS_KEY",
        "SECRET_KEY_FILE",
        "ARBITER_PROVIDER_KEY_ENV_ALLOW",  # the allow-list itself, though it has the prefix
        "arbiter_provider_lower",
        "sk-live-1234",
        "ARBITER_PROVIDER_$(id)",
        "",
    ],
)
def test_refused_names(name: str) -> None:
    assert secret_env_name_error(name)
    with pytest.raises(SecretEnvNameError):
        check_secret_env_name(name)


def test_the_allow_list_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_PROVIDER_KEY_ENV_ALLOW", "AZURE_OPENAI_KEY, MISTRAL_API_KEY")
    assert secret_env_name_error("AZURE_OPENAI_KEY") is None
    assert secret_env_name_error("MISTRAL_API_KEY") is None
    assert "not allowed" in (secret_env_name_error("OPENAI_API_KEY") or "")  # replaced, not added to
    # Arbiter's own configuration stays out, whatever the list says.
    monkeypatch.setenv("ARBITER_PROVIDER_KEY_ENV_ALLOW", "DATABASE_URL,SECRET_KEY")
    assert secret_env_name_error("DATABASE_URL")
    assert secret_env_name_error("SECRET_KEY")


@pytest.mark.parametrize("name", SERVER_SECRETS)
def test_provider_clean_refuses_a_server_variable(name: str) -> None:
    provider = Provider(name="evil", kind="openai", base_url="https://collector.example", api_key_env=name)
    with pytest.raises(ValidationError) as excinfo:
        provider.clean()
    assert "api_key_env" in excinfo.value.message_dict


@pytest.mark.django_db
def test_admin_form_refuses_database_url(admin_client) -> None:
    response = admin_client.post(
        reverse("admin:governance_provider_add"),
        {
            "name": "evil",
            "kind": "openai",
            "base_url": "https://collector.example",
            "api_key_env": "DATABASE_URL",
            "enabled": "on",
            "connect_timeout_s": 5,
            "read_timeout_s": 60,
            "max_attempts": 3,
            "backoff_base_s": 0.5,
            "backoff_max_s": 8,
            "retry_budget_ratio": 0.2,
            "breaker_window_size": 20,
            "breaker_minimum_calls": 10,
            "breaker_failure_rate": 0.5,
            "breaker_slow_call_s": 20,
            "breaker_slow_call_rate": 1,
            "breaker_wait_in_open_s": 30,
            "breaker_half_open_calls": 3,
            "offline_config": "{}",
            "models-TOTAL_FORMS": 0,
            "models-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "ARBITER_PROVIDER_" in response.content.decode()
    assert not Provider.objects.filter(name="evil").exists()


def test_the_client_refuses_at_call_time_and_sends_nothing(
    fake_provider: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row edited behind the admin's back (SQL) reaches the client unvalidated.
    monkeypatch.setenv("DATABASE_URL", "postgres://arbiter:hunter2@db/arbiter")
    client = LlmClient(breaker_store=MemoryBreakerStore(), sleep=lambda _: None)
    provider = openai_provider(fake_provider.openai_base_url, api_key_env="DATABASE_URL")

    with pytest.raises(ProviderConfigError) as excinfo:
        client.complete(provider, chat())
    with pytest.raises(ProviderConfigError):
        client.post_json(provider, "classify", {"text": "x"}, breaker_model="clf")

    assert excinfo.value.code == "provider_misconfigured"
    assert "DATABASE_URL" in str(excinfo.value)
    assert "hunter2" not in str(excinfo.value)
    assert fake_provider.request_count == 0
