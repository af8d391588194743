"""Tier 2 and tier 3 backends over the shared LLM client (breaker, retries, timeouts).

The engine is plain Python and never opens a connection: these adapters are what it calls.
A remote classifier is any HTTP text-classification endpoint behind a ``Provider`` row
(its base URL, key variable, timeouts and breaker are configured in the admin); the LLM
guard sends a judge prompt to a configured model and expects a JSON verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.llm import CallContext, get_client
from governance.models import Project, Provider
from governance.services.models_gateway import model_call, provider_config
from guardrails.engine import Backends, RuleSpec, parse_verdict

DEFAULT_JUDGE_PROVIDER = "offline-judge"
DEFAULT_JUDGE_MODEL = "sim-judge"


class GuardBackendError(Exception):
    """A backend that cannot run (e.g. a rule naming a provider that does not exist)."""


def _provider(name: str) -> Provider:
    provider = Provider.objects.filter(name=name, enabled=True).first()
    if provider is None:
        raise GuardBackendError(f"no enabled provider named {name!r}")
    return provider


def classifier_score(body: Mapping[str, Any], label: str) -> float:
    """P(label) from the common classifier answers.

    Accepts ``{"scores": {"INJECTION": 0.9, ...}}``, ``{"label": "...", "score": s}`` (a score
    for another label of a binary classifier counts as ``1 - s``) and ``{"score": s}``.
    """
    scores = body.get("scores")
    if isinstance(scores, Mapping):
        value = scores.get(label)
        if value is None:
            raise ValueError(f"classifier answered without a score for {label!r}")
        return float(value)
    if "score" not in body:
        raise ValueError("classifier answer has no score")
    score = float(body["score"])
    answered = body.get("label")
    if isinstance(answered, str) and answered.upper() != label.upper():
        return 1.0 - score
    return score


class RemoteClassifier:
    """``config["endpoint"]`` is ``"<provider>/<path>"``, e.g. ``"guard-classifier/classify"``;
    the endpoint receives ``{"text": ...}``."""

    def __init__(self, context: CallContext) -> None:
        self.context = context

    def score(self, text: str, rule: RuleSpec) -> float:
        endpoint = str(rule.config.get("endpoint") or "")
        provider_name, _, path = endpoint.partition("/")
        if not provider_name:
            raise GuardBackendError("classifier rule has no endpoint (expected '<provider>/<path>')")
        provider = _provider(provider_name)
        body = get_client().post_json(
            provider_config(provider),
            "/" + path,
            {"text": text},
            breaker_model=f"classifier:{path or 'root'}",
            context=self.context,
        )
        return classifier_score(body, str(rule.config.get("label") or "INJECTION"))


JUDGE_FORMAT = (
    'Answer with one JSON object only: {"verdict": "allow" | "flag" | "block", '
    '"score": <0..1, how sure you are that the text violates the policy>, "reason": "<one sentence>"}.'
)


class ModelJudge:
    """Tier 3: the rule's judge prompt, the text as the user message, a JSON verdict back."""

    def __init__(self, *, project: Project, context: CallContext) -> None:
        self.project = project
        self.context = context

    def judge(self, text: str, rule: RuleSpec) -> Mapping[str, Any]:
        provider = _provider(str(rule.config.get("provider") or DEFAULT_JUDGE_PROVIDER))
        result = model_call(
            provider=provider,
            model=str(rule.config.get("model") or DEFAULT_JUDGE_MODEL),
            system=f"{rule.config.get('prompt', '')}\n\n{JUDGE_FORMAT}",
            messages=[("user", text)],
            max_tokens=200,
            temperature=0.0,
            json_response=True,
            project=self.project,
            api_key_id=self.context.api_key_id,
            feature=self.context.feature or "guardrails",
            customer=self.context.customer,
            purpose=f"llm_guard:{rule.name}",
        )
        # Models often wrap JSON in a ```json fence; parse_verdict accepts that and raises
        # InvalidVerdict (a guard error, with the fail mode applied) on anything else.
        verdict, score, reason = parse_verdict(result.text)
        return {"verdict": verdict, "score": score, "reason": reason}


def backends_for(*, project: Project, context: CallContext) -> Backends:
    return Backends(
        classifiers={"remote": RemoteClassifier(context)}, llm_judge=ModelJudge(project=project, context=context)
    )
