"""Sign-in throttling for the admin (django-axes): repeated wrong passwords lock a username from an address.

After ``ARBITER_LOGIN_FAILURE_LIMIT`` failures for one username from one IP address, that pair
is refused for ``ARBITER_LOGIN_COOLOFF_MINUTES``, with a page that says so and a log line
``admin.login_locked_out``. Attempts are kept in the database (shared by every process, with or
without Redis); a superuser sees and clears them under *Axes → Access attempts*, or
``manage.py axes_reset_username <name>``.
"""

from __future__ import annotations

from typing import Any

import structlog
from axes.backends import AxesStandaloneBackend
from axes.signals import user_locked_out
from django.dispatch import receiver
from django.http import HttpRequest

log = structlog.get_logger(__name__)


class LoginLockoutBackend(AxesStandaloneBackend):  # type: ignore[misc]
    """django-axes' check, for sign-ins that come with a request (every web sign-in does).

    ``authenticate()`` without a request (a shell, the test client's ``login()``) has no address
    to count against, so it is left to the next backend instead of failing.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, **kwargs)


@receiver(user_locked_out, dispatch_uid="governance.login_locked_out")
def _log_lockout(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    log.warning("admin.login_locked_out", username=username, ip_address=ip_address, path=request.path)
