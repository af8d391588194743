"""Fixtures shared by the whole suite: projects, the three API-key personas, real services.

Personas (as in NetBox/healthchecks): Alice's key has every scope in project ``alice``;
Bob's key is read-only in Alice's project; Charlie's key has every scope in another project.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from rest_framework.test import APIClient

from governance.choices import ALL_SCOPES
from governance.models import Project
from governance.services.api_keys import IssuedKey, api_key_create
from governance.services.projects import project_create
from tests.support.fake_provider import fake_provider  # noqa: F401  (a fixture every app's tests may use)
from tests.support.redis_server import redis_server  # noqa: F401  (a private Redis a test may stop)

READ_SCOPES = [s for s in ALL_SCOPES if s.endswith(":read")]


def require_service(env_var: str, what: str) -> str:
    """The service's URL, or a skip; with ARBITER_REQUIRE_SERVICES=1 a missing service fails the test."""
    url = os.environ.get(env_var, "")
    if url:
        return url
    message = f"{what} not configured: set {env_var}"
    if os.environ.get("ARBITER_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (ARBITER_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    return require_service("REDIS_URL", "Redis")


@pytest.fixture
def postgres_required(settings) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        require_service("__ARBITER_NO_SUCH_VAR__", "PostgreSQL (DATABASE_URL=postgres://…)")


@dataclass
class Persona:
    project: Project
    issued: IssuedKey

    @property
    def key(self) -> str:
        return self.issued.secret

    def client(self) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.issued.secret}")
        return client


@pytest.fixture
def alice_project(db) -> Project:
    return project_create(slug="alice", name="Alice's project")


@pytest.fixture
def charlie_project(db) -> Project:
    return project_create(slug="charlie", name="Charlie's project")


@pytest.fixture
def alice(alice_project) -> Persona:
    return Persona(alice_project, api_key_create(project=alice_project, name="alice", scopes="all"))


@pytest.fixture
def bob(alice_project) -> Persona:
    return Persona(alice_project, api_key_create(project=alice_project, name="bob", scopes=READ_SCOPES))


@pytest.fixture
def charlie(charlie_project) -> Persona:
    return Persona(charlie_project, api_key_create(project=charlie_project, name="charlie", scopes="all"))


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def make_key(alice_project) -> Callable[..., Persona]:
    def make(scopes: str | list[str] = "all", project: Project | None = None, **kwargs) -> Persona:
        p = project or alice_project
        return Persona(p, api_key_create(project=p, name="k", scopes=scopes, **kwargs))

    return make


@pytest.fixture
def isolated_hooks():
    """No subscriber on any hook for the test (the apps' receivers are back afterwards).

    Subscribe what the test needs with ``hooks.subscribe`` or observe with ``hooks.capture``.
    """
    from governance import hooks

    with hooks.isolated():
        yield hooks


@pytest.fixture
def make_staff(db) -> Callable[..., Client]:
    """A signed-in admin client for a staff user with ``role`` in ``project`` (or a superuser).

    The admin's personas: an operator, a policy editor and an auditor of Alice's project see
    nothing of Charlie's (``tests/governance/test_admin_scoping.py`` runs all three over every page).
    """
    from django.contrib.auth.models import User
    from django.test import Client

    from governance.services.memberships import membership_grant

    def make(role: str | None = None, project: Project | None = None, *, superuser: bool = False) -> Client:
        username = f"{role or ('root' if superuser else 'staff')}-{User.objects.count() + 1}"
        user = User.objects.create_user(username, password="pw", is_staff=True, is_superuser=superuser)
        # A fresh client per persona: the admin caches a user's access on each request, never across.
        if role is not None:
            assert project is not None, "a role is held in a project"
            membership_grant(user=user, project=project, role=role)
        client = Client()
        client.force_login(user)
        client.user = user  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness costs ~0.3 s per user created; tests need no protection of test passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters, cached compiled policies and outages must not leak between tests.
    from django.core.cache import cache

    from governance import degradation

    degradation.reset()
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def _tasks_in_process() -> None:
    # Tests run tasks in-process unless they ask for the real worker (fixture `celery_worker`).
    from governance.celery import app

    # With namespace="CELERY" the config keys are the prefixed Django names.
    app.conf.CELERY_TASK_ALWAYS_EAGER = True


@pytest.fixture
def celery_worker(request, settings):
    """A real ``celery -A governance worker`` process on the Redis broker, on the test database.

    Tests using it need committed data (``transactional_db``): the worker is another process.
    """
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    from governance.celery import app

    broker = require_service("CELERY_BROKER_URL", "Celery broker")
    require_service("REDIS_URL", "Redis")
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        require_service("__NO_POSTGRES__", "PostgreSQL for a worker sharing the test database")
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    queue = f"arbiter-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker, "LOG_LEVEL": "WARNING"}
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "governance", "worker", "-P", "solo", "-Q", queue,
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel=WARNING"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    previous = (app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.task_default_queue)
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.CELERY_TASK_DEFAULT_QUEUE = queue
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"celery worker exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            try:
                app.send_task("governance.ping", queue=queue).get(timeout=2)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
        yield queue
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER, app.conf.CELERY_TASK_DEFAULT_QUEUE = previous
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
