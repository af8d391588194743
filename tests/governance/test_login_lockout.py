"""Admin sign-in throttling: wrong passwords lock a username from one address, with a page and a log line."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff_user() -> User:
    return User.objects.create_user("olivia", password="right-password-123", is_staff=True)


def _sign_in(client: Client, password: str, address: str = "127.0.0.2", username: str = "olivia"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_repeated_wrong_passwords_lock_the_username_from_that_address(settings, staff_user, caplog):
    settings.AXES_FAILURE_LIMIT = 5
    client = Client()
    for _ in range(4):
        response = _sign_in(client, "wrong")
        assert response.status_code == 200  # the sign-in form again, with Django's error
        assert b"Please enter the correct username and password" in response.content
    locked = _sign_in(client, "wrong")
    assert locked.status_code == 429
    assert b"Too many failed sign-ins for <strong>olivia</strong>" in locked.content
    assert any("admin.login_locked_out" in str(record.msg) for record in caplog.records)

    # Even the right password is refused from that address while the lock lasts...
    assert _sign_in(client, "right-password-123").status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but the same user signs in from another address, and other users from this one.
    assert _sign_in(Client(), "right-password-123", address="127.0.0.3").status_code == 302
    User.objects.create_user("audrey", password="another-password-9", is_staff=True)
    assert _sign_in(Client(), "another-password-9", username="audrey").status_code == 302


def test_the_lock_lifts_after_the_cool_off_and_a_success_resets_the_count(settings, staff_user):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        _sign_in(client, "wrong")
    assert _sign_in(client, "right-password-123").status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert _sign_in(client, "right-password-123").status_code == 302
    assert not AccessAttempt.objects.exists()  # a success clears the failures
    client.logout()
    for _ in range(2):
        _sign_in(client, "wrong")
    assert _sign_in(client, "right-password-123").status_code == 302  # 2 < 3: not locked


def test_the_defaults_lock_after_ten_failures(staff_user):
    client = Client()
    statuses = [_sign_in(client, "wrong").status_code for _ in range(10)]
    assert statuses == [200] * 9 + [429]
