"""Model aliases: resolving a project's alias to the provider models that may serve it, and saving them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from governance.errors import ArbiterError, NotFoundError
from governance.llm import ProviderConfig
from governance.models import ModelEndpoint, Project, Provider
from governance.services.provider_calls import provider_config
from orchestration.models import AliasEndpoint, EndpointQuota, ModelAlias


@dataclass(frozen=True, slots=True)
class QuotaSpec:
    """An endpoint's outbound limits (``None``: not limited)."""

    requests_per_minute: int | None
    tokens_per_minute: int | None
    max_wait_s: float


@dataclass(frozen=True)
class ResolvedEndpoint:
    """One provider model that may serve an alias, with everything a call needs and no more queries."""

    alias_endpoint_id: int
    model_endpoint_id: int
    provider: Provider
    config: ProviderConfig
    model: str
    priority: int
    weight: int
    max_output_tokens: int
    quota: QuotaSpec | None

    @property
    def key(self) -> str:
        """``provider:model``: the breaker's and the quota's key, and what envelopes name."""
        return f"{self.config.name}:{self.model}"


@dataclass(frozen=True)
class ResolvedAlias:
    id: int
    name: str
    max_tokens: int
    endpoints: tuple[ResolvedEndpoint, ...]


def alias_resolve(*, project: Project, name: str) -> ResolvedAlias:
    """The enabled endpoints of ``project``'s alias ``name``, in one query.

    Raises ``unknown_alias`` (404) for an alias the project does not have (another project's
    alias of the same name is invisible), and ``alias_unavailable`` (409) when it has no
    enabled endpoint on an enabled provider.
    """
    rows = list(
        AliasEndpoint.objects.filter(
            alias__project=project,
            alias__name=name,
            alias__enabled=True,
            enabled=True,
            model__enabled=True,
            model__provider__enabled=True,
        )
        .select_related("alias", "model__provider", "model__quota")
        .order_by("priority", "pk")
    )
    if not rows:
        # The error path only: tell a missing alias from one without a usable endpoint.
        if not ModelAlias.objects.filter(project=project, name=name, enabled=True).exists():
            raise NotFoundError(f"Project {project.slug!r} has no model alias {name!r}.", code="unknown_alias")
        raise ArbiterError("alias_unavailable", f"Model alias {name!r} has no enabled endpoint.", status_code=409)
    alias = rows[0].alias
    endpoints = []
    for row in rows:
        provider = row.model.provider
        config = provider_config(provider)
        if alias.connect_timeout_s is not None or alias.read_timeout_s is not None:
            config = dataclasses.replace(
                config,
                connect_timeout_s=alias.connect_timeout_s or config.connect_timeout_s,
                read_timeout_s=alias.read_timeout_s or config.read_timeout_s,
            )
        quota_row: EndpointQuota | None = getattr(row.model, "quota", None)
        quota = (
            QuotaSpec(quota_row.requests_per_minute, quota_row.tokens_per_minute, quota_row.max_wait_s)
            if quota_row is not None
            else None
        )
        endpoints.append(
            ResolvedEndpoint(
                alias_endpoint_id=row.pk,
                model_endpoint_id=row.model_id,
                provider=provider,
                config=config,
                model=row.model.name,
                priority=row.priority,
                weight=row.weight,
                max_output_tokens=row.model.max_output_tokens,
                quota=quota,
            )
        )
    return ResolvedAlias(id=alias.pk, name=alias.name, max_tokens=alias.max_tokens, endpoints=tuple(endpoints))


def _validated(instance: ModelAlias | AliasEndpoint | EndpointQuota, code: str) -> None:
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise ArbiterError(code, "The configuration is not valid; see detail.", detail=exc.message_dict) from exc


def alias_save(*, alias: ModelAlias) -> ModelAlias:
    """Create or change an alias (validated first)."""
    _validated(alias, "invalid_alias")
    alias.save()
    return alias


def alias_endpoint_save(*, endpoint: AliasEndpoint) -> AliasEndpoint:
    _validated(endpoint, "invalid_alias")
    endpoint.save()
    return endpoint


def alias_endpoint_delete(*, endpoint: AliasEndpoint) -> None:
    endpoint.delete()


@transaction.atomic
def alias_create(
    *,
    project: Project,
    name: str,
    endpoints: list[tuple[ModelEndpoint, int, int]],
    max_tokens: int = 1024,
    description: str = "",
    connect_timeout_s: float | None = None,
    read_timeout_s: float | None = None,
) -> ModelAlias:
    """An alias with its endpoints, each ``(model, priority, weight)``."""
    alias = alias_save(
        alias=ModelAlias(
            project=project,
            name=name,
            description=description,
            max_tokens=max_tokens,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
        )
    )
    for model, priority, weight in endpoints:
        alias_endpoint_save(endpoint=AliasEndpoint(alias=alias, model=model, priority=priority, weight=weight))
    return alias


def endpoint_quota_save(*, quota: EndpointQuota) -> EndpointQuota:
    """Create or change an endpoint's outbound limits; every process sees them on its next call."""
    _validated(quota, "invalid_quota")
    quota.save()
    return quota
