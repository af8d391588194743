from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from governance.models import ApiKey, Project, Provider

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_api_key_prints_a_working_key_last(alice_project):
    output = _run("create_api_key", "--project", "alice", "--name", "svc", "--scopes", "guard:check,costs:read")
    key = output.strip().splitlines()[-1]
    api_key = ApiKey.objects.get(name="svc")
    assert sorted(api_key.scopes) == ["costs:read", "guard:check"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/whoami").json()["project"] == "alice"


def test_create_api_key_all_scopes(alice_project):
    _run("create_api_key", "--project", "alice", "--name", "svc", "--scopes", "all")
    assert "envelopes:write" in ApiKey.objects.get(name="svc").scopes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--project", "nope", "--name", "x", "--scopes", "all"], "No project"),
        (["--project", "alice", "--name", "x", "--scopes", "guard:check,fly"], "Unknown scope"),
    ],
)
def test_create_api_key_refuses_bad_input(alice_project, args, message):
    with pytest.raises(CommandError, match=message):
        _run("create_api_key", *args)


def test_seed_demo_is_idempotent_and_issues_a_fresh_key():
    first = _run("seed_demo", "--issue-key")
    second = _run("seed_demo", "--issue-key")
    assert Project.objects.filter(slug="demo").count() == 1
    assert Provider.objects.get(name="offline").is_simulated
    keys = ApiKey.objects.filter(project__slug="demo", name="demo (make run)")
    assert keys.count() == 2
    assert keys.filter(revoked_at__isnull=True).count() == 1
    new_key = second.strip().splitlines()[-1]
    old_key = first.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new_key}")
    assert client.get("/api/v1/whoami").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_key}")
    assert client.get("/api/v1/whoami").status_code == 401


def test_ensure_admin_creates_then_resets(django_user_model):
    first = _run("ensure_admin")
    assert "password:" in first
    password = first.split("password:")[1].strip()
    assert django_user_model.objects.get(username="admin").check_password(password)
    second = _run("ensure_admin", "--reset")
    new_password = second.split("password:")[1].strip()
    assert new_password != password
    assert django_user_model.objects.get(username="admin").check_password(new_password)
