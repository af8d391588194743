"""The demo project's model alias and prompt, so ``governed_call(project=demo, alias="demo-chat", …)`` works
under ``make run`` with no key and no network (the offline simulator, labelled as simulated)."""

from __future__ import annotations

from django.db import transaction

from governance.models import ModelEndpoint, Project
from governance.services.demo import offline_provider_ensure
from orchestration.models import EndpointQuota, ModelAlias, PromptTemplate
from orchestration.services.aliases import alias_create, endpoint_quota_save
from orchestration.services.prompts import prompt_template_create

DEMO_ALIAS = "demo-chat"
DEMO_PROMPT = "support-answer"
DEMO_PROMPT_MESSAGES = [
    {
        "role": "system",
        "template": (
            "You are the support assistant of {{ company }}. Answer in at most {{ max_sentences|default(3) }} "
            "sentences.{% if tone is defined %} Tone: {{ tone }}.{% endif %}"
        ),
    },
    {"role": "user", "template": "{{ question }}"},
]


@transaction.atomic
def demo_seed(*, project: Project) -> None:
    """Idempotent: an existing alias or prompt is kept as the demo user may have edited it."""
    provider = offline_provider_ensure()
    small = ModelEndpoint.objects.get(provider=provider, name="sim-small")
    large = ModelEndpoint.objects.get(provider=provider, name="sim-large")
    if not ModelAlias.objects.filter(project=project, name=DEMO_ALIAS).exists():
        alias_create(
            project=project,
            name=DEMO_ALIAS,
            description="The demo's chat model: the small simulated model first, the large one as fallback.",
            endpoints=[(small, 1, 1), (large, 2, 1)],
            max_tokens=512,
        )
    if not EndpointQuota.objects.filter(endpoint=small).exists():
        endpoint_quota_save(quota=EndpointQuota(endpoint=small, requests_per_minute=600, tokens_per_minute=2_000_000))
    if not PromptTemplate.objects.filter(project=project, name=DEMO_PROMPT).exists():
        prompt_template_create(
            project=project,
            name=DEMO_PROMPT,
            description="The demo support assistant's prompt: company and question as variables.",
            messages=DEMO_PROMPT_MESSAGES,
        )
