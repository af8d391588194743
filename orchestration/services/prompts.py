"""Prompt templates: new versions (validated, immutable), the current version, and resolving a reference."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from governance.errors import ArbiterError, NotFoundError
from governance.models import Project
from orchestration.engine import prompts as prompt_engine
from orchestration.models import PromptTemplate, PromptVersion

_CACHE_SIZE = 512
# Keyed by (row id, digest): a row id alone can come back for another text (SQLite reuses the
# highest rowid after a delete), the digest is what the compiled form depends on.
_compiled: OrderedDict[tuple[int, str], prompt_engine.CompiledPrompt] = OrderedDict()
_compiled_lock = threading.Lock()


@dataclass(frozen=True)
class ResolvedPrompt:
    """A prompt version ready to render; what envelopes name (``template``, ``version``, ``digest``)."""

    template: str
    version: int
    digest: str
    compiled: prompt_engine.CompiledPrompt

    def envelope_version(self) -> dict[str, Any]:
        return {"template": self.template, "version": self.version, "hash": self.digest}


def _invalid(exc: prompt_engine.PromptError) -> ArbiterError:
    return ArbiterError("invalid_prompt", exc.message, detail={"reason": exc.code, **exc.detail})


def _normalise_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    if not isinstance(messages, (list, tuple)) or not all(isinstance(m, Mapping) for m in messages):
        raise ArbiterError("invalid_prompt", 'Messages must be a list of {"role", "template"} objects.')
    normalised = []
    for m in messages:
        role, template = m.get("role"), m.get("template")
        if not isinstance(role, str) or not isinstance(template, str):
            raise ArbiterError("invalid_prompt", 'Each message needs a "role" and a "template" string.')
        normalised.append({"role": role, "template": template})
    return normalised


def prompt_compile(version: PromptVersion) -> prompt_engine.CompiledPrompt:
    """The compiled form of a stored version, cached in-process (versions never change)."""
    key = (version.pk, version.digest)
    with _compiled_lock:
        cached = _compiled.get(key)
        if cached is not None:
            _compiled.move_to_end(key)
            return cached
    try:
        compiled = prompt_engine.compile_prompt(version.message_templates(), version.limits())
    except prompt_engine.PromptError as exc:
        raise _invalid(exc) from exc
    with _compiled_lock:
        _compiled[key] = compiled
        while len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    return compiled


@transaction.atomic
def prompt_version_create(
    *,
    template: PromptTemplate,
    messages: Sequence[Mapping[str, Any]],
    note: str = "",
    user: AbstractBaseUser | None = None,
    make_current: bool = True,
    limits: prompt_engine.RenderLimits | None = None,
) -> PromptVersion:
    """Validate and append the next version of ``template``; optionally make it current.

    The same text and limits as the latest version add no version (an admin save without a
    change). Raises ``invalid_prompt`` with the template error (line, missing piece) in detail.
    """
    limits = limits or prompt_engine.RenderLimits()
    normalised = _normalise_messages(messages)
    try:
        compiled = prompt_engine.compile_prompt(
            [prompt_engine.MessageTemplate(m["role"], m["template"]) for m in normalised], limits
        )
    except prompt_engine.PromptError as exc:
        raise _invalid(exc) from exc
    locked = PromptTemplate.objects.select_for_update().get(pk=template.pk)
    latest = locked.versions.order_by("-version").first()
    if latest is not None and latest.digest == compiled.digest and latest.limits() == limits:
        version = latest
    else:
        version = PromptVersion(
            template=locked,
            version=(latest.version if latest else 0) + 1,
            messages=normalised,
            variables=sorted(compiled.variables),
            digest=compiled.digest,
            max_rendered_chars=limits.max_rendered_chars,
            max_iterations=limits.max_iterations,
            max_render_ms=limits.max_render_ms,
            note=note[:300],
            created_by=user if user is not None and user.pk else None,  # type: ignore[misc]
        )
        version.save()
    if make_current and locked.current_version != version.version:
        locked.current_version = version.version
        locked.save(update_fields=["current_version", "updated_at"])
    template.current_version = locked.current_version
    return version


def prompt_template_save(*, template: PromptTemplate) -> PromptTemplate:
    """Create or change a template's own fields; ``current_version`` must name an existing version."""
    try:
        template.full_clean(validate_unique=False)
    except ValidationError as exc:
        raise ArbiterError("invalid_prompt", "The prompt is not valid; see detail.", detail=exc.message_dict) from exc
    pinned = template.pk and template.current_version
    if pinned and not PromptVersion.objects.filter(template_id=template.pk, version=template.current_version).exists():
        raise ArbiterError("invalid_prompt", f"Prompt {template.name!r} has no version {template.current_version}.")
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError as exc:
        raise ArbiterError("prompt_exists", f"A prompt named {template.name!r} already exists.") from exc
    return template


@transaction.atomic
def prompt_template_create(
    *,
    project: Project,
    name: str,
    messages: Sequence[Mapping[str, Any]],
    description: str = "",
    user: AbstractBaseUser | None = None,
    limits: prompt_engine.RenderLimits | None = None,
) -> PromptTemplate:
    """A new prompt with its version 1 as the current version."""
    template = prompt_template_save(template=PromptTemplate(project=project, name=name, description=description))
    prompt_version_create(template=template, messages=messages, note="created", user=user, limits=limits)
    return template


def prompt_resolve(*, project: Project, name: str, version: int | None = None) -> ResolvedPrompt:
    """``name`` pinned at ``version``, or floating at its current version.

    Raises ``unknown_prompt`` (404) for a prompt or version the project does not have.
    """
    template = PromptTemplate.objects.filter(project=project, name=name).only("id", "name", "current_version").first()
    if template is None:
        raise NotFoundError(f"Project {project.slug!r} has no prompt {name!r}.", code="unknown_prompt")
    wanted = version if version is not None else template.current_version
    row = PromptVersion.objects.filter(template=template, version=wanted).first()
    if row is None:
        raise NotFoundError(f"Prompt {name!r} has no version {wanted}.", code="unknown_prompt")
    return ResolvedPrompt(template=name, version=row.version, digest=row.digest, compiled=prompt_compile(row))


def prompt_render(prompt: ResolvedPrompt, variables: Mapping[str, Any]) -> tuple[prompt_engine.RenderedMessage, ...]:
    """Render with the caller's variables; a template error is the caller's ``invalid_prompt`` (400)."""
    try:
        return prompt_engine.render_prompt(prompt.compiled, variables)
    except prompt_engine.PromptError as exc:
        raise _invalid(exc) from exc
