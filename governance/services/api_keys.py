"""API keys: their format and hashing, creating, finding, revoking and touching them.

Keys look like ``arb_<prefix>_<secret>``. The prefix finds the row; the secret is kept only as
its SHA-256 digest and compared in constant time. ``governance.auth`` turns these answers
into DRF authentication.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from governance.choices import ALL_SCOPES
from governance.errors import ArbiterError
from governance.models import ApiKey, Project

KEY_PREFIX = "arb"

# last_used_at is a hint, not an audit trail: writing it at most once a minute keeps the hot path read-only.
_TOUCH_INTERVAL = timedelta(seconds=60)


def hash_secret(secret: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough; there is nothing to brute-force.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def api_key_split(token: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a token shaped like a key, else ``None``."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    return parts[1], parts[2]


def api_key_find(*, token: str) -> ApiKey | None:
    """The key (with its project) whose secret ``token`` carries, or ``None``; revoked and
    expired keys are found too (the caller says why they are refused)."""
    split = api_key_split(token)
    if split is None:
        return None
    prefix, secret = split
    api_key = ApiKey.objects.select_related("project").filter(prefix=prefix).first()
    expected = api_key.secret_hash if api_key else hash_secret("")
    # Compare even when the prefix is unknown so timing does not reveal which prefixes exist.
    if not hmac.compare_digest(expected, hash_secret(secret)) or api_key is None:
        return None
    return api_key


@dataclass(frozen=True)
class IssuedKey:
    """A new key and its secret. The secret exists only here: it is never stored nor logged."""

    api_key: ApiKey
    secret: str


def parse_scopes(value: str | Iterable[str]) -> list[str]:
    """``"all"``, ``"a,b"`` or a list → a validated, sorted list of scopes."""
    items = [s.strip() for s in value.split(",")] if isinstance(value, str) else [s.strip() for s in value]
    items = [s for s in items if s]
    if items == ["all"]:
        return sorted(ALL_SCOPES)
    unknown = sorted(set(items) - set(ALL_SCOPES))
    if unknown:
        raise ArbiterError(
            "unknown_scope", f"Unknown scope(s): {', '.join(unknown)}. Known: {', '.join(sorted(ALL_SCOPES))}."
        )
    if not items:
        raise ArbiterError("no_scopes", "Give at least one scope (or 'all').")
    return sorted(set(items))


@transaction.atomic
def api_key_create(
    *,
    project: Project,
    name: str,
    scopes: Iterable[str] | str,
    expires_at: datetime | None = None,
    created_by: AbstractBaseUser | None = None,
) -> IssuedKey:
    """Issue a key; the returned secret is the only copy anywhere."""
    scope_list = parse_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ArbiterError("invalid_expiry", "The expiry must be in the future.")
    while True:
        prefix = secrets.token_hex(4)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        project=project,
        name=name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scopes=scope_list,
        expires_at=expires_at,
        created_by_id=created_by.pk if created_by is not None else None,
    )
    return IssuedKey(api_key=api_key, secret=f"{KEY_PREFIX}_{prefix}_{secret}")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key (idempotent: revoking twice keeps the first time)."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey, now: datetime) -> None:
    """Record use, at most once per interval per key (a conditional UPDATE, so no race, rarely a write)."""
    if api_key.last_used_at is not None and now - api_key.last_used_at < _TOUCH_INTERVAL:
        return
    ApiKey.objects.filter(pk=api_key.pk).exclude(last_used_at__gte=now - _TOUCH_INTERVAL).update(last_used_at=now)
    api_key.last_used_at = now
