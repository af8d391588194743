"""Tier 2 and tier 3 backends over the shared LLM client (breaker, retries, timeouts).

The engine is plain Python and never opens a connection: these adapters are what it calls.
A remote classifier is any HTTP text-classification endpoint behind a ``Provider`` row
(its base URL, key variable, timeouts and breaker are configured in the admin); the LLM
guard sends a judge prompt to a configured model and expects a JSON verdict.

Both spend money, so both go through the costs app's spending protocol: the worst case of
the call is held on the budgets that apply (the project, the caller's key, its feature and
customer) before the call, and settled from the ledger after it. A refusal (a hard budget
without room, or an unpriced model under a hard budget) means no call is made: the engine
records a guard error with the refusal's code (``budget_exceeded``, ``price_unknown``) and
applies the rule's fail mode. A classifier endpoint is priced as the model ``<path>`` of its
provider (e.g. ``guard-classifier`` / ``classify``), per input token.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog

from costs.errors import SpendRefusedError
from costs.services.spending import CallBound, SpendTags, call_bound, spending
from governance.llm import CallContext, get_client
from governance.models import Project, Provider
from governance.services.provider_calls import provider_call, provider_config
from guardrails.engine import BackendRefused, Backends, RuleSpec, parse_verdict

log = structlog.get_logger(__name__)

DEFAULT_JUDGE_PROVIDER = "offline-judge"
DEFAULT_JUDGE_MODEL = "sim-judge"


class GuardBackendError(Exception):
    """A backend that cannot run (e.g. a rule naming a provider that does not exist)."""


@contextmanager
def _budgeted(*, project: Project, context: CallContext, bound: CallBound, purpose: str) -> Iterator[CallContext]:
    """The call's context carrying its reservation; a refusal becomes the engine's ``BackendRefused``.

    Guard calls without a feature of their own spend (and are reported) as ``guardrails``.
    """
    context = dataclasses.replace(context, feature=context.feature or "guardrails", purpose=purpose)
    tags = SpendTags(
        api_key_id=context.api_key_id,
        feature=context.feature,
        customer=context.customer,
        trace_id=context.trace_id,
    )
    try:
        with spending(project=project, bound=bound, tags=tags, purpose=purpose) as reservation:
            yield dataclasses.replace(context, reservation_id=str(reservation.id))
    except SpendRefusedError as exc:
        log.warning("guard.spend_refused", code=exc.code, purpose=purpose, detail=exc.detail)
        raise BackendRefused(exc.code, exc.message) from exc


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

    def __init__(self, *, project: Project, context: CallContext) -> None:
        self.project = project
        self.context = context

    def score(self, text: str, rule: RuleSpec) -> float:
        endpoint = str(rule.config.get("endpoint") or "")
        provider_name, _, path = endpoint.partition("/")
        if not provider_name:
            raise GuardBackendError("classifier rule has no endpoint (expected '<provider>/<path>')")
        provider = _provider(provider_name)
        model = path or "root"
        bound = call_bound(provider=provider, model=model, texts=[text], max_output_tokens=0)
        with _budgeted(
            project=self.project, context=self.context, bound=bound, purpose=f"classifier:{rule.name}"
        ) as context:
            body = get_client().post_json(
                provider_config(provider),
                "/" + path,
                {"text": text},
                breaker_model=f"classifier:{model}",
                context=context,
                usage_model=model,
                input_tokens=bound.input_tokens,
            )
        return classifier_score(body, str(rule.config.get("label") or "INJECTION"))


JUDGE_MAX_TOKENS = 200
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
        model = str(rule.config.get("model") or DEFAULT_JUDGE_MODEL)
        system = f"{rule.config.get('prompt', '')}\n\n{JUDGE_FORMAT}"
        bound = call_bound(provider=provider, model=model, texts=[system, text], max_output_tokens=JUDGE_MAX_TOKENS)
        with _budgeted(
            project=self.project, context=self.context, bound=bound, purpose=f"llm_guard:{rule.name}"
        ) as ctx:
            result = provider_call(
                provider=provider,
                model=model,
                system=system,
                messages=[("user", text)],
                max_tokens=JUDGE_MAX_TOKENS,
                temperature=0.0,
                json_response=True,
                project=self.project,
                api_key_id=ctx.api_key_id,
                feature=ctx.feature,
                customer=ctx.customer,
                purpose=ctx.purpose,
                reservation_id=ctx.reservation_id,
            )
        # Models often wrap JSON in a ```json fence; parse_verdict accepts that and raises
        # InvalidVerdict (a guard error, with the fail mode applied) on anything else.
        verdict, score, reason = parse_verdict(result.text)
        return {"verdict": verdict, "score": score, "reason": reason}


def backends_for(*, project: Project, context: CallContext) -> Backends:
    return Backends(
        classifiers={"remote": RemoteClassifier(project=project, context=context)},
        llm_judge=ModelJudge(project=project, context=context),
    )
