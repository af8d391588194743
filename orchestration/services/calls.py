"""The governed model call: the one way anything above ``guardrails`` spends money on a model.

``governed_call(project=…, alias=…, messages=…, decision_type=…)`` runs, in order:

1. **validate and resolve** the arguments, the alias (its enabled endpoints, in one query) and
   the prompt version (pinned, or the current one), and render the prompt;
2. **input guard** (one pass over every message; a block ends here: no model call, nothing
   held or spent; a redaction rewrites what the model is sent);
3. **reserve the worst case** with costs' spending protocol: the input's token upper bound
   plus ``max_tokens`` at the dearest endpoint the call may reach, held on every applicable
   budget and checked against the caller's own cap (``budget_cap_usd``). A refusal ends here:
   no model call;
4. **the model call** through the shared client (breaker, retries) over the alias's endpoints:
   weighted choice within the first priority, fallback when a breaker is open, the endpoint's
   outbound quota is exhausted, or it failed retryably after its own retries;
5. **settle** with the priced cost of every attempt (the ledger rows naming the reservation),
   releasing the hold, whatever happened in step 4;
6. **output guard** (redaction rewrites the answer; a block returns a typed refusal);
7. **exactly one decision envelope** of the caller's ``decision_type`` in the caller's trace,
   naming the guard policy versions, the endpoint that served, the prompt version and the
   caller's own versions, with the verdicts, the cost and where the time went.

It returns a frozen ``GovernedResult`` or raises a ``GovernedCallError`` with a stable code
(``blocked``, ``budget_exceeded``, ``rate_limited``, ``provider_unavailable``,
``invalid_request``; see ``orchestration.errors``). ``governed_call_stream`` is the same call
yielding text as it arrives, with the output guard applied incrementally.

Nothing here runs in one database transaction on purpose: the reservation, the ledger rows
and the envelope each commit on their own, so a crash mid-call leaves a hold that expires and
ledger rows that ``costs.reconcile_budgets`` counts, never a spend nobody recorded.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, NoReturn

import structlog

from costs.choices import BudgetMode
from costs.errors import BudgetExceededError, UnpricedSpendError
from costs.pricing import input_tokens_upper_bound, nanos_to_usd, usd_to_nanos, worst_case_nanos
from costs.services.budgets import budgets_applicable
from costs.services.prices import PriceBook
from costs.services.spending import CallBound, Settlement, SpendTags, spend_reserve, spend_settle
from governance import tracing
from governance.llm import (
    BreakerOpenError,
    CallContext,
    ChatMessage,
    ChatRequest,
    ChatResult,
    LlmError,
    ProviderHTTPError,
    RetryBudgetExhaustedError,
    Usage,
    get_client,
)
from governance.llm.streaming import ChatStream
from governance.models import ApiKey, DecisionEnvelope, Project
from governance.services.envelopes import envelope_append
from guardrails.engine import Decision, Severity
from guardrails.models import GuardPolicy
from orchestration.engine.holdback import StreamBlocked, StreamGuard
from orchestration.engine.routing import EndpointOption, attempt_order
from orchestration.errors import (
    CallBlocked,
    CallBudgetExceeded,
    CallRateLimited,
    GovernedCallError,
    InvalidCallRequest,
    ProviderUnavailable,
)
from orchestration.services import guards, quotas
from orchestration.services.aliases import ResolvedAlias, ResolvedEndpoint, alias_resolve
from orchestration.services.prompts import ResolvedPrompt, prompt_render, prompt_resolve

log = structlog.get_logger(__name__)

DECISION_TYPES = frozenset({"llm_call", "pipeline_step", "eval_judgment", "gateway_completion"})
ROLES = frozenset({"system", "user", "assistant"})
MAX_MESSAGES = 500
MAX_INPUT_CHARS = 1_000_000
MAX_TAG_CHARS = {"feature": 100, "customer": 200, "end_user": 200, "pipeline": 100, "run_id": 64, "step": 100}
MAX_CALLER_JSON_CHARS = 16_000
MAX_CALLER_JSON_DEPTH = 8
DEFAULT_QUOTA_WAIT_S = 2.0
DEFAULT_LOOKBEHIND = 256
RESERVED_VERSION_KEYS = frozenset({"model", "prompt", "input_policy", "output_policy"})
# Provider answers that say the request itself is wrong for the model: another endpoint would refuse it too.
_INVALID_STATUSES = frozenset({400, 404, 413, 422})
_OUTCOME = {Decision.ALLOW: "allowed", Decision.FLAG: "flagged", Decision.REDACT: "redacted", Decision.BLOCK: "blocked"}


@dataclass(frozen=True, slots=True)
class ServedBy:
    """The endpoint that answered (what the envelope's ``versions.model`` names)."""

    provider: str
    provider_kind: str
    model: str
    response_model: str
    alias_endpoint_id: int
    priority: int
    simulated: bool


@dataclass(frozen=True)
class GovernedResult:
    """What a governed call returns. ``text`` is the answer after the output guard (redacted
    where it redacts); ``cost_usd`` is the settled cost of every attempt; ``cached`` is always
    False for now (no response cache yet: the field is there so callers need not change)."""

    text: str
    model: str
    alias: str
    served_by: ServedBy
    usage: Usage
    cost_usd: Decimal
    hold_usd: Decimal
    envelope_id: uuid.UUID
    trace_id: str
    outcome: str
    finish_reason: str | None
    attempts: int
    latency_ms: float
    prompt: Mapping[str, Any] | None = None
    cached: bool = False
    timings_ms: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Plan:
    endpoint: ResolvedEndpoint
    max_tokens: int


class _Call:
    """One governed call's state, from arguments to envelope. Not reusable."""

    def __init__(self, **arguments: Any) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.args = arguments
        self.project: Project = arguments["project"]
        self.api_key: ApiKey | None = arguments["api_key"]
        self.decision_type: str = arguments["decision_type"]
        self.tags: dict[str, str] = {name: str(arguments[name] or "") for name in MAX_TAG_CHARS}
        self.alias: ResolvedAlias | None = None
        self.prompt: ResolvedPrompt | None = None
        self.messages: list[tuple[str, str]] = []
        self.input_policy: GuardPolicy | None = None
        self.output_policy: GuardPolicy | None = None
        self.screenings: list[guards.Screening] = []
        self.plan: list[_Plan] = []
        self.reservation_id: uuid.UUID | None = None
        self.hold_nanos = 0
        self.input_bound = 0
        self.settlement: Settlement | None = None
        self.attempt_log: list[dict[str, Any]] = []
        self.envelope: DecisionEnvelope | None = None
        trace = tracing.current()
        self.trace_id = trace.trace_id if trace else tracing.new_trace_id()
        self.span_id = trace.span_id if trace else tracing.new_span_id()

    # -- 1. arguments -------------------------------------------------------------------------

    def prepare(self) -> None:
        """Validate and resolve everything; raises ``InvalidCallRequest`` (no envelope)."""
        with self._timed("resolve"):
            self._validate_arguments()
            try:
                self.alias = alias_resolve(project=self.project, name=self.args["alias"])
                prompt_name = self.args["prompt"]
                if prompt_name:
                    self.prompt = prompt_resolve(
                        project=self.project, name=prompt_name, version=self.args["prompt_version"]
                    )
                    rendered = prompt_render(self.prompt, self.args["variables"] or {})
                    self.messages = [(m.role, m.content) for m in rendered]
            except GovernedCallError:
                raise
            except Exception as exc:
                if not hasattr(exc, "code"):
                    raise
                raise InvalidCallRequest(
                    getattr(exc, "message", str(exc)),
                    detail={"reason": exc.code, **_as_dict(getattr(exc, "detail", None))},
                ) from exc
            self.messages += self._caller_messages()
            if not self.messages:
                raise InvalidCallRequest("A call needs messages, a prompt, or both.", detail={"reason": "no_messages"})
            if sum(len(c) for _, c in self.messages) > MAX_INPUT_CHARS:
                raise InvalidCallRequest(
                    f"The call's messages exceed {MAX_INPUT_CHARS} characters.", detail={"reason": "input_too_large"}
                )
            if self.args["input_policy"]:
                self.input_policy = guards.policy_get(project=self.project, slug=self.args["input_policy"])
            if self.args["output_policy"]:
                self.output_policy = guards.policy_get(project=self.project, slug=self.args["output_policy"])
            self.plan = self._plan()

    def _validate_arguments(self) -> None:
        a = self.args
        if self.decision_type not in DECISION_TYPES:
            raise InvalidCallRequest(
                f"decision_type must be one of {', '.join(sorted(DECISION_TYPES))}.",
                detail={"reason": "invalid_decision_type"},
            )
        for name, limit in MAX_TAG_CHARS.items():
            value = self.tags[name]
            if len(value) > limit or "\x00" in value:
                raise InvalidCallRequest(
                    f"{name} must be at most {limit} characters without NUL.", detail={"reason": name}
                )
        if a["max_tokens"] is not None and not (isinstance(a["max_tokens"], int) and a["max_tokens"] >= 1):
            raise InvalidCallRequest("max_tokens must be a positive integer.", detail={"reason": "max_tokens"})
        if a["temperature"] is not None and not (
            isinstance(a["temperature"], (int, float))
            and math.isfinite(a["temperature"])
            and 0 <= a["temperature"] <= 2
        ):
            raise InvalidCallRequest("temperature must be between 0 and 2.", detail={"reason": "temperature"})
        cap = a["budget_cap_usd"]
        if cap is not None and (not isinstance(cap, Decimal) or not cap.is_finite() or cap < 0):
            raise InvalidCallRequest("budget_cap_usd must be a non-negative Decimal.", detail={"reason": "budget_cap"})
        wait = a["max_quota_wait_s"]
        if wait is not None and not (isinstance(wait, (int, float)) and 0 <= wait <= 60):
            raise InvalidCallRequest("max_quota_wait_s must be between 0 and 60.", detail={"reason": "quota_wait"})
        versions = a["versions"] or {}
        _check_caller_json(versions, "versions")
        if not all(isinstance(v, Mapping) for v in versions.values()):
            raise InvalidCallRequest("versions must map names to objects.", detail={"reason": "versions"})
        clash = RESERVED_VERSION_KEYS & set(versions)
        if clash:
            raise InvalidCallRequest(
                f"versions may not set {', '.join(sorted(clash))}: the call records them itself.",
                detail={"reason": "versions"},
            )
        attributes = a["attributes"] or {}
        _check_caller_json(attributes, "attributes")
        if any(str(k).startswith("call.") for k in attributes):
            raise InvalidCallRequest(
                "attributes starting with 'call.' are the call's own.", detail={"reason": "attributes"}
            )
        parent = a["parent"]
        if parent is not None and parent.project_id != self.project.pk:
            raise InvalidCallRequest("The parent envelope belongs to another project.", detail={"reason": "parent"})

    def _caller_messages(self) -> list[tuple[str, str]]:
        raw = self.args["messages"] or ()
        if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or len(raw) > MAX_MESSAGES:
            raise InvalidCallRequest(
                f"messages must be a list of at most {MAX_MESSAGES} {{role, content}} objects.",
                detail={"reason": "messages"},
            )
        out = []
        for index, message in enumerate(raw):
            role = message.get("role") if isinstance(message, Mapping) else None
            content = message.get("content") if isinstance(message, Mapping) else None
            if role not in ROLES or not isinstance(content, str):
                raise InvalidCallRequest(
                    f"messages[{index}] needs a role (system, user or assistant) and a string content.",
                    detail={"reason": "messages", "index": index},
                )
            out.append((str(role), content))
        return out

    def _plan(self) -> list[_Plan]:
        assert self.alias is not None
        rng = self.args["rng"] or random
        ordered = attempt_order(
            [EndpointOption(e, e.priority, e.weight) for e in self.alias.endpoints],
            rng=rng if isinstance(rng, random.Random) else None,
        )
        requested = self.args["max_tokens"] or self.alias.max_tokens
        plan = []
        for option in ordered:
            endpoint: ResolvedEndpoint = option.ref  # type: ignore[assignment]
            plan.append(_Plan(endpoint=endpoint, max_tokens=max(1, min(requested, endpoint.max_output_tokens))))
        return plan

    # -- 2. input guard ---------------------------------------------------------------------------

    def guard_input(self) -> None:
        if self.input_policy is None:
            return
        contents = [content for _, content in self.messages]
        text, _ = guards.join_messages(contents)
        with self._timed("input_guard"):
            screening = guards.screen(
                project=self.project,
                policy=self.input_policy,
                stage="input",
                text=text,
                context=self._context(),
                feature=self.tags["feature"],
            )
        self.screenings.append(screening)
        if screening.decision is Decision.BLOCK:
            envelope = self.record("blocked", refused_by="input_guard")
            raise CallBlocked(
                f"The input was blocked by policy {self.input_policy.slug!r}: {screening.reasons() or 'blocked'}.",
                stage="input",
                detail={"stage": "input", "policy": self.input_policy.slug, "verdicts": screening.verdicts()},
                envelope_id=envelope.id,
                trace_id=self.trace_id,
            )
        if screening.result.redactions:
            redacted = guards.apply_redactions(contents, screening)
            self.messages = [(role, new) for (role, _), new in zip(self.messages, redacted, strict=True)]

    # -- 3. reserve ---------------------------------------------------------------------------------

    def reserve(self) -> None:
        texts = [content for _, content in self.messages]
        input_bound = input_tokens_upper_bound(texts)
        with self._timed("reserve"):
            cap = self.args["budget_cap_usd"]
            priced: list[tuple[int, _Plan]] = []
            unpriced: list[_Plan] = []
            # One endpoint and no cap of the caller's: spend_reserve prices it (and refuses an
            # unpriced one under a hard budget) itself; choosing the dearest needs two or more.
            steps = self.plan if len(self.plan) > 1 or cap is not None else []
            if steps:
                providers = {name for s in steps for name in (s.endpoint.config.name, s.endpoint.config.kind)}
                book = PriceBook.load(project_id=self.project.pk, providers=providers)
                now = _now()
            for step in steps:
                e = step.endpoint
                price = book.find(provider=e.config.name, provider_kind=e.config.kind, model=e.model, at=now)
                if price is None:
                    unpriced.append(step)
                else:
                    worst = worst_case_nanos(
                        input_tokens=input_bound, max_output_tokens=step.max_tokens, terms=price.terms()
                    )
                    priced.append((worst, step))
            if unpriced and (cap is not None or self._hard_budgets()):
                # A hard limit is never admitted blind: endpoints whose cost is unknown cannot be reached.
                self.plan = [s for s in self.plan if s not in unpriced]
                if not self.plan:
                    self._refuse_budget(
                        "No endpoint of this alias has a price, and a hard budget or the caller's cap applies.",
                        {"reason": "price_unknown", "models": [s.endpoint.key for s in unpriced]},
                    )
            worst_nanos, dearest = max(priced, key=lambda p: p[0]) if priced else (0, self.plan[0])
            if cap is not None and worst_nanos > usd_to_nanos(cap):
                self._refuse_budget(
                    f"The call's worst case ${nanos_to_usd(worst_nanos)} exceeds the caller's cap ${cap}.",
                    {"reason": "caller_cap", "worst_case_usd": str(nanos_to_usd(worst_nanos)), "cap_usd": str(cap)},
                )
            bound = CallBound(
                provider=dearest.endpoint.config.name,
                provider_kind=dearest.endpoint.config.kind,
                model=dearest.endpoint.model,
                input_tokens=input_bound,
                max_output_tokens=dearest.max_tokens,
                deadline_s=self._deadline_s(),
            )
            try:
                reservation = spend_reserve(
                    project=self.project,
                    bound=bound,
                    tags=SpendTags(
                        api_key_id=self.api_key.pk if self.api_key else None,
                        feature=self.tags["feature"],
                        customer=self.tags["customer"],
                        pipeline=self.tags["pipeline"],
                        trace_id=self.trace_id,
                        run_id=self.tags["run_id"],
                    ),
                    purpose=f"{self.decision_type}:{self.args['alias']}",
                )
            except (BudgetExceededError, UnpricedSpendError) as exc:
                self._refuse_budget(exc.message, {"reason": exc.code, **_as_dict(exc.detail)})
        self.reservation_id = reservation.id
        self.hold_nanos = reservation.hold_nanos
        self.input_bound = input_bound

    def _hard_budgets(self) -> bool:
        budgets = budgets_applicable(
            project=self.project,
            api_key_id=self.api_key.pk if self.api_key else None,
            feature=self.tags["feature"],
            customer=self.tags["customer"],
            pipeline=self.tags["pipeline"],
        )
        return any(b.mode == BudgetMode.HARD for b in budgets)

    def _refuse_budget(self, message: str, detail: dict[str, Any]) -> NoReturn:
        envelope = self.record("blocked", refused_by="budget", refusal=detail)
        raise CallBudgetExceeded(message, detail=detail, envelope_id=envelope.id, trace_id=self.trace_id)

    def _deadline_s(self) -> float:
        """How long the whole call can take: every endpoint's attempts and backoffs, and the quota waits."""
        total = 0.0
        for step in self.plan:
            config = step.endpoint.config
            attempts = config.retry.max_attempts
            per_attempt = 2 * config.connect_timeout_s + 2 * config.read_timeout_s
            total += attempts * per_attempt + (attempts - 1) * config.retry.backoff_max_s
            if step.endpoint.quota is not None:
                total += step.endpoint.quota.max_wait_s
        return total

    # -- 4. the model call --------------------------------------------------------------------------

    def request_for(self, step: _Plan) -> ChatRequest:
        return ChatRequest(
            model=step.endpoint.model,
            messages=tuple(ChatMessage(role, content) for role, content in self.messages),  # type: ignore[arg-type]
            max_tokens=step.max_tokens,
            temperature=self.args["temperature"],
            json_response=bool(self.args["json_response"]),
            metadata=self._context(),
        )

    def admit(self, step: _Plan, wait_left: float) -> tuple[bool, float]:
        """Take the endpoint's quota; ``(admitted, seconds waited or retry-after)``."""
        with self._timed("quota"):
            decision = quotas.quota_acquire(
                endpoint=step.endpoint, tokens=self.input_bound + step.max_tokens, max_wait_s=wait_left
            )
        if decision.admitted:
            return True, decision.waited_s
        outcome = "too_large_for_quota" if decision.too_large else "rate_limited"
        self.attempt_log.append({"endpoint": step.endpoint.key, "outcome": outcome})
        return False, decision.retry_after_s

    def failed(self, step: _Plan, exc: LlmError) -> bool:
        """Log an endpoint's failure; True when the next endpoint may be tried."""
        status = getattr(exc, "status", None)
        cause = exc.last_error if isinstance(exc, RetryBudgetExhaustedError) else exc
        entry: dict[str, Any] = {
            "endpoint": step.endpoint.key,
            "outcome": "breaker_open" if isinstance(exc, BreakerOpenError) else exc.code,
        }
        if status:
            entry["status"] = status
        self.attempt_log.append(entry)
        if isinstance(cause, ProviderHTTPError) and cause.status == 429:
            quotas.quota_pause(endpoint=step.endpoint, retry_after_s=cause.retry_after_s)
        return not (isinstance(cause, ProviderHTTPError) and cause.status in _INVALID_STATUSES)

    def invoke(self) -> tuple[_Plan, ChatResult]:
        client = get_client()
        wait_left = float(
            self.args["max_quota_wait_s"] if self.args["max_quota_wait_s"] is not None else DEFAULT_QUOTA_WAIT_S
        )
        retry_after: float | None = None
        for step in self.plan:
            admitted, seconds = self.admit(step, wait_left)
            if not admitted:
                retry_after = seconds if retry_after is None else min(retry_after, seconds)
                continue
            wait_left = max(0.0, wait_left - seconds)
            try:
                with self._timed("model"):
                    result = client.complete(step.endpoint.config, self.request_for(step))
            except LlmError as exc:
                if not self.failed(step, exc):
                    self.unavailable(invalid=True)
                continue
            self.attempt_log.append({"endpoint": step.endpoint.key, "outcome": "ok", "attempts": result.attempts})
            return step, result
        self.unavailable(retry_after=retry_after)

    def unavailable(self, *, retry_after: float | None = None, invalid: bool = False) -> NoReturn:
        """No endpoint answered: settle, record, raise the fitting error."""
        self.settle()
        every_quota = bool(self.attempt_log) and all(a["outcome"] == "rate_limited" for a in self.attempt_log)
        envelope = self.record("error", refused_by="invalid_request" if invalid else "no_endpoint")
        detail = {"attempts": self.attempt_log}
        if invalid:
            raise InvalidCallRequest(
                "The provider refused the request as invalid.",
                detail={"reason": "provider_refused", **detail},
                envelope_id=envelope.id,
                trace_id=self.trace_id,
            )
        if every_quota and retry_after is not None:
            raise CallRateLimited(
                f"Every endpoint of {self.args['alias']!r} is at its outbound quota.",
                retry_after_s=retry_after,
                detail={**detail, "retry_after_s": round(retry_after, 3)},
                envelope_id=envelope.id,
                trace_id=self.trace_id,
            )
        raise ProviderUnavailable(
            f"No endpoint of {self.args['alias']!r} answered.",
            detail=detail,
            envelope_id=envelope.id,
            trace_id=self.trace_id,
        )

    def fail_unexpectedly(self) -> None:
        """A bug or an interrupt mid-call: still settle and record, without hiding the error."""
        try:
            self.settle()
            if self.envelope is None:
                self.record("error", refused_by="internal_error")
        except Exception:
            log.exception("governed_call.record_failed", trace_id=self.trace_id)

    # -- 5. settle ------------------------------------------------------------------------------------

    def settle(self) -> None:
        if self.reservation_id is None or self.settlement is not None:
            return
        with self._timed("settle"):
            self.settlement = spend_settle(reservation_id=self.reservation_id)

    # -- 6. output guard ------------------------------------------------------------------------------

    def guard_output(self, text: str) -> str:
        if self.output_policy is None:
            return text
        with self._timed("output_guard"):
            screening = guards.screen(
                project=self.project,
                policy=self.output_policy,
                stage="output",
                text=text,
                context=self._context(),
                feature=self.tags["feature"],
            )
        self.screenings.append(screening)
        return screening.result.text

    def output_blocked(self) -> guards.Screening | None:
        blocked = [s for s in self.screenings if s.stage == "output" and s.decision is Decision.BLOCK]
        return blocked[0] if blocked else None

    # -- 7. the envelope --------------------------------------------------------------------------------

    def outcome(self) -> str:
        decision = Decision.ALLOW
        rank = {Decision.ALLOW: 0, Decision.FLAG: 1, Decision.REDACT: 2, Decision.BLOCK: 3}
        for screening in self.screenings:
            if rank[screening.decision] > rank[decision]:
                decision = screening.decision
        return _OUTCOME[decision]

    def record(
        self,
        outcome: str,
        *,
        output: str | None = None,
        served: tuple[_Plan, ChatResult] | None = None,
        refused_by: str = "",
        refusal: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> DecisionEnvelope:
        """The call's one envelope. A second call is a bug, not a second decision."""
        if self.envelope is not None:
            raise RuntimeError("a governed call records exactly one envelope")
        started = time.perf_counter()
        versions: dict[str, Any] = {k: dict(v) for k, v in (self.args["versions"] or {}).items()}
        if served is not None:
            step, result = served
            versions["model"] = {
                "provider": step.endpoint.config.name,
                "name": step.endpoint.model,
                "response_model": result.model,
                "simulated": result.simulated,
                "alias": self.args["alias"],
                "alias_endpoint_id": step.endpoint.alias_endpoint_id,
                "priority": step.endpoint.priority,
            }
        else:
            versions["model"] = {"alias": self.args["alias"]}
        if self.prompt is not None:
            versions["prompt"] = self.prompt.envelope_version()
        for screening in self.screenings:
            versions[f"{screening.stage}_policy"] = screening.version()
        for policy, key in ((self.input_policy, "input_policy"), (self.output_policy, "output_policy")):
            if policy is not None and key not in versions:
                versions[key] = {"slug": policy.slug, "version": policy.version, "id": policy.pk}
        actor: dict[str, Any] = {"api_key_id": self.api_key.pk if self.api_key else None}
        service = self.args["service"] or (self.api_key.name if self.api_key else "")
        if service:
            actor["service"] = str(service)[:200]
        if self.tags["end_user"]:
            actor["end_user"] = self.tags["end_user"]
        cost: dict[str, Any] | None = None
        if self.settlement is not None:
            usage = served[1].usage if served is not None else Usage()
            cost = {
                "input_tokens": usage.input_tokens_total,
                "output_tokens": usage.output_tokens,
                "usd": float(nanos_to_usd(self.settlement.actual_nanos)),
            }
        attributes: dict[str, Any] = {k: v for k, v in self.tags.items() if v and k != "end_user"}
        attributes.update(self.args["attributes"] or {})
        attributes.update(
            {
                "call.alias": self.args["alias"],
                "call.attempts": self.attempt_log,
                "call.stream": bool(self.args.get("stream")),
                "call.cached": False,
                "call.timings_ms": {k: round(v, 3) for k, v in self.timings.items()},
            }
        )
        if refused_by:
            attributes["call.refused_by"] = refused_by
        if refusal:
            attributes["call.refusal"] = dict(refusal)
        if self.reservation_id is not None:
            attributes["call.reservation_id"] = str(self.reservation_id)
            attributes["call.hold_usd"] = str(nanos_to_usd(self.hold_nanos))
        if self.settlement is not None:
            attributes["call.settled_attempts"] = self.settlement.attempts
        attributes.update(extra or {})
        verdicts = [v for s in self.screenings for v in s.verdicts()]
        hits = [h for s in self.screenings for h in s.result.hits]
        order = list(Severity)
        risk = str(max((h.severity for h in hits), key=order.index)) if hits else None
        self.envelope = envelope_append(
            project=self.project,
            decision_type=self.decision_type,
            outcome=outcome,
            trace_id=self.trace_id,
            span_id=self.span_id,
            parent=self.args["parent"],
            actor=actor,
            input=[{"role": role, "content": content} for role, content in self.messages],
            output=output,
            versions=versions,
            verdicts=verdicts,
            rationale="; ".join(s.reasons() for s in self.screenings if s.reasons()) or None,
            cost=cost,
            latency_ms=(time.perf_counter() - self.started) * 1000.0,
            risk=risk,
            attributes=attributes,
        )
        self.timings["envelope"] = (time.perf_counter() - started) * 1000.0
        return self.envelope

    def result(self, step: _Plan, reply: ChatResult, text: str, outcome: str) -> GovernedResult:
        assert self.envelope is not None
        assert self.settlement is not None
        return GovernedResult(
            text=text,
            model=reply.model,
            alias=self.args["alias"],
            served_by=ServedBy(
                provider=step.endpoint.config.name,
                provider_kind=step.endpoint.config.kind,
                model=step.endpoint.model,
                response_model=reply.model,
                alias_endpoint_id=step.endpoint.alias_endpoint_id,
                priority=step.endpoint.priority,
                simulated=reply.simulated,
            ),
            usage=reply.usage,
            cost_usd=nanos_to_usd(self.settlement.actual_nanos),
            hold_usd=nanos_to_usd(self.hold_nanos),
            envelope_id=self.envelope.id,
            trace_id=self.trace_id,
            outcome=outcome,
            finish_reason=reply.finish_reason,
            attempts=sum(int(a.get("attempts", 0)) for a in self.attempt_log) or reply.attempts,
            latency_ms=(time.perf_counter() - self.started) * 1000.0,
            prompt=MappingProxyType(self.prompt.envelope_version()) if self.prompt else None,
            timings_ms=MappingProxyType(dict(self.timings)),
        )

    # -- plumbing -----------------------------------------------------------------------------------------

    def _context(self) -> CallContext:
        return CallContext(
            trace_id=self.trace_id,
            span_id=self.span_id,
            project_id=self.project.pk,
            api_key_id=self.api_key.pk if self.api_key else None,
            feature=self.tags["feature"],
            customer=self.tags["customer"],
            pipeline=self.tags["pipeline"],
            run_id=self.tags["run_id"],
            step=self.tags["step"],
            purpose=f"{self.decision_type}:{self.args['alias']}",
            reservation_id=str(self.reservation_id) if self.reservation_id else "",
        )

    def _timed(self, name: str) -> _Timer:
        return _Timer(self.timings, name)


class _Timer:
    def __init__(self, into: dict[str, float], name: str) -> None:
        self.into, self.name = into, name

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.into[self.name] = self.into.get(self.name, 0.0) + (time.perf_counter() - self.started) * 1000.0


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def _as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _check_caller_json(value: Any, name: str) -> None:
    import json

    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidCallRequest(f"{name} must be an object with string keys.", detail={"reason": name})

    def walk(item: Any, depth: int) -> None:
        if depth > MAX_CALLER_JSON_DEPTH:
            raise InvalidCallRequest(f"{name} nests deeper than {MAX_CALLER_JSON_DEPTH}.", detail={"reason": name})
        if isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise InvalidCallRequest(f"{name} keys must be strings.", detail={"reason": name})
                walk(sub, depth + 1)
        elif isinstance(item, (list, tuple)):
            for sub in item:
                walk(sub, depth + 1)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidCallRequest(f"{name} cannot hold NaN or infinity.", detail={"reason": name})
        elif isinstance(item, str) and "\x00" in item:
            raise InvalidCallRequest(f"{name} cannot hold NUL characters.", detail={"reason": name})
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise InvalidCallRequest(f"{name} must be JSON values.", detail={"reason": name})

    walk(value, 0)
    try:
        size = len(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError) as exc:
        raise InvalidCallRequest(f"{name} must be JSON.", detail={"reason": name}) from exc
    if size > MAX_CALLER_JSON_CHARS:
        raise InvalidCallRequest(f"{name} is larger than {MAX_CALLER_JSON_CHARS} characters.", detail={"reason": name})


def _arguments(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def governed_call(
    *,
    project: Project,
    alias: str,
    decision_type: str,
    messages: Sequence[Mapping[str, str]] = (),
    prompt: str | None = None,
    prompt_version: int | None = None,
    variables: Mapping[str, Any] | None = None,
    input_policy: str | None = None,
    output_policy: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    json_response: bool = False,
    api_key: ApiKey | None = None,
    service: str = "",
    feature: str = "",
    customer: str = "",
    end_user: str = "",
    pipeline: str = "",
    run_id: str = "",
    step: str = "",
    budget_cap_usd: Decimal | None = None,
    max_quota_wait_s: float | None = None,
    versions: Mapping[str, Mapping[str, Any]] | None = None,
    attributes: Mapping[str, Any] | None = None,
    parent: DecisionEnvelope | None = None,
    rng: random.Random | None = None,
) -> GovernedResult:
    """One governed model call (see the module docstring for the steps and guarantees).

    ``messages`` are ``{"role", "content"}`` objects appended after the rendered ``prompt``
    (pinned at ``prompt_version``, or floating at the current version when it is None).
    ``input_policy``/``output_policy`` are guard policy slugs of the project. ``budget_cap_usd``
    is the caller's own limit (a pipeline run's remaining budget, an eval run's cost cap): the
    call is refused unless its worst case fits. ``max_quota_wait_s`` bounds the wait for an
    endpoint's outbound quota (default 2 s; 0 fails fast). ``versions`` and ``attributes`` are
    the caller's, recorded in the envelope; ``parent`` links the envelope to the caller's.
    ``rng`` makes the weighted endpoint choice reproducible.

    Raises ``GovernedCallError`` subclasses (``orchestration.errors``).
    """
    call = _Call(**_arguments(
        project=project, alias=alias, decision_type=decision_type, messages=messages, prompt=prompt,
        prompt_version=prompt_version, variables=variables, input_policy=input_policy, output_policy=output_policy,
        max_tokens=max_tokens, temperature=temperature, json_response=json_response, api_key=api_key,
        service=service, feature=feature, customer=customer, end_user=end_user, pipeline=pipeline, run_id=run_id,
        step=step, budget_cap_usd=budget_cap_usd, max_quota_wait_s=max_quota_wait_s, versions=versions,
        attributes=attributes, parent=parent, rng=rng, stream=False,
    ))  # fmt: skip
    call.prepare()
    call.guard_input()
    call.reserve()
    try:
        served, reply = call.invoke()
    except GovernedCallError:
        raise
    except BaseException:
        call.fail_unexpectedly()
        raise
    call.settle()
    text = call.guard_output(reply.text)
    blocked = call.output_blocked()
    if blocked is not None:
        envelope = call.record("blocked", served=(served, reply), refused_by="output_guard")
        raise CallBlocked(
            f"The answer was blocked by policy {blocked.policy.slug!r}: {blocked.reasons() or 'blocked'}.",
            stage="output",
            detail={"stage": "output", "policy": blocked.policy.slug, "verdicts": blocked.verdicts()},
            envelope_id=envelope.id,
            trace_id=call.trace_id,
        )
    outcome = call.outcome()
    call.record(outcome, output=text, served=(served, reply))
    return call.result(served, reply, text, outcome)


class GovernedStream:
    """A governed call whose answer arrives as text deltas (``governed_call_stream``).

    Iterate for the text that passed the output guard; ``result`` is set when the stream
    has ended. Close it (or leave its ``with`` block) to stop early: the model call is
    cancelled, what it cost is settled, and the envelope says it was cancelled.
    """

    def __init__(self, call: _Call, lookbehind: int) -> None:
        self._call = call
        self._lookbehind = lookbehind
        self.result: GovernedResult | None = None
        self.sent: list[str] = []
        self._started = False
        self._iterator: Generator[str, None, None] = self._run()

    @property
    def trace_id(self) -> str:
        return self._call.trace_id

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        self._started = True
        return next(self._iterator)

    def close(self) -> None:
        """Stop the stream. Closed before the first read, the model is never called: the hold is
        released and the envelope records a cancelled call."""
        self._iterator.close()
        if not self._started and self._call.envelope is None:
            self._started = True
            self._call.settle()
            self._call.record("error", refused_by="cancelled", extra={"call.cancelled": True})

    def __enter__(self) -> GovernedStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _open(self) -> tuple[_Plan, ChatStream, str | None]:
        call = self._call
        client = get_client()
        wait_left = float(
            call.args["max_quota_wait_s"] if call.args["max_quota_wait_s"] is not None else DEFAULT_QUOTA_WAIT_S
        )
        retry_after: float | None = None
        for step in call.plan:
            admitted, seconds = call.admit(step, wait_left)
            if not admitted:
                retry_after = seconds if retry_after is None else min(retry_after, seconds)
                continue
            wait_left = max(0.0, wait_left - seconds)
            stream = client.stream(step.endpoint.config, call.request_for(step))
            try:
                with call._timed("model"):
                    first = next(stream, None)
            except LlmError as exc:
                stream.close()
                if not call.failed(step, exc):
                    call.unavailable(invalid=True)
                continue
            return step, stream, first
        call.unavailable(retry_after=retry_after)

    def _run(self) -> Generator[str, None, None]:
        call = self._call
        step, stream, first = self._open()
        guard = (
            StreamGuard(guards.stream_screen(call.output_policy), lookbehind=self._lookbehind)
            if call.output_policy is not None
            else None
        )
        try:
            delta = first
            while delta is not None:
                safe = guard.feed(delta) if guard is not None else delta
                if safe:
                    self.sent.append(safe)
                    yield safe
                with call._timed("model"):
                    delta = next(stream, None)
            if guard is not None:
                tail = guard.finish()
                if tail:
                    self.sent.append(tail)
                    yield tail
        except StreamBlocked as blocked:
            stream.close()
            self._end(step, stream, outcome="blocked", extra={"call.stream_blocked": blocked.verdict.reason})
            raise CallBlocked(
                f"The answer was blocked by policy {call.output_policy.slug if call.output_policy else ''!r} "
                f"while streaming: {blocked.verdict.reason or 'blocked'}.",
                stage="output",
                detail={"stage": "output", "released_chars": len("".join(self.sent))},
                envelope_id=call.envelope.id if call.envelope else None,
                trace_id=call.trace_id,
            ) from blocked
        except LlmError as exc:
            call.attempt_log.append({"endpoint": step.endpoint.key, "outcome": f"failed_mid_stream:{exc.code}"})
            self._end(step, stream, outcome="error")
            raise ProviderUnavailable(
                "The provider failed in the middle of the answer.",
                detail={"attempts": call.attempt_log},
                envelope_id=call.envelope.id if call.envelope else None,
                trace_id=call.trace_id,
            ) from exc
        except GeneratorExit:
            stream.close()
            self._end(step, stream, outcome="error", extra={"call.cancelled": True})
            raise
        except BaseException:
            stream.close()
            call.fail_unexpectedly()
            raise
        reply = stream.result
        assert reply is not None
        sent = "".join(self.sent)
        call.attempt_log.append({"endpoint": step.endpoint.key, "outcome": "ok", "attempts": reply.attempts})
        call.settle()
        # The whole answer through every tier of the output policy, for the record (the stream
        # guard ran tier 1 only); a block here comes after the text was sent, and says so.
        call.guard_output(stream.text)
        blocked_after = call.output_blocked()
        outcome = "blocked" if blocked_after is not None else call.outcome()
        call.record(
            outcome, output=sent, served=(step, reply), extra={"call.blocked_after_send": blocked_after is not None}
        )
        if blocked_after is not None:
            raise CallBlocked(
                f"The answer was blocked by policy {blocked_after.policy.slug!r} after it was sent.",
                stage="output",
                detail={"stage": "output", "released_chars": len(sent), "verdicts": blocked_after.verdicts()},
                envelope_id=call.envelope.id if call.envelope else None,
                trace_id=call.trace_id,
            )
        self.result = call.result(step, reply, sent, outcome)

    def _end(self, step: _Plan, stream: ChatStream, *, outcome: str, extra: Mapping[str, Any] | None = None) -> None:
        call = self._call
        if call.envelope is not None:
            return
        call.settle()
        call.record(outcome, output="".join(self.sent) or None, extra={"call.stream_partial": True, **(extra or {})})


def governed_call_stream(
    *,
    project: Project,
    alias: str,
    decision_type: str,
    messages: Sequence[Mapping[str, str]] = (),
    prompt: str | None = None,
    prompt_version: int | None = None,
    variables: Mapping[str, Any] | None = None,
    input_policy: str | None = None,
    output_policy: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    json_response: bool = False,
    api_key: ApiKey | None = None,
    service: str = "",
    feature: str = "",
    customer: str = "",
    end_user: str = "",
    pipeline: str = "",
    run_id: str = "",
    step: str = "",
    budget_cap_usd: Decimal | None = None,
    max_quota_wait_s: float | None = None,
    versions: Mapping[str, Mapping[str, Any]] | None = None,
    attributes: Mapping[str, Any] | None = None,
    parent: DecisionEnvelope | None = None,
    rng: random.Random | None = None,
    lookbehind: int = DEFAULT_LOOKBEHIND,
) -> GovernedStream:
    """``governed_call`` with the answer streamed: the arguments, the input guard and the budget
    reservation are checked here, before anything streams (so a refusal is a plain error the
    caller can turn into an HTTP status); the model is called on the first ``next()``.

    Text is released through the output policy's tier-1 rules with ``lookbehind`` characters
    held back (``orchestration.engine.holdback``); the full policy runs on the whole answer
    at the end for the envelope. Fallback to another endpoint happens only before the first
    text. One envelope, one settlement, whatever the stream's end (finished, blocked, failed,
    or closed by the caller).
    """
    if not isinstance(lookbehind, int) or not 0 <= lookbehind <= 10_000:
        raise InvalidCallRequest("lookbehind must be between 0 and 10000 characters.", detail={"reason": "lookbehind"})
    call = _Call(**_arguments(
        project=project, alias=alias, decision_type=decision_type, messages=messages, prompt=prompt,
        prompt_version=prompt_version, variables=variables, input_policy=input_policy, output_policy=output_policy,
        max_tokens=max_tokens, temperature=temperature, json_response=json_response, api_key=api_key,
        service=service, feature=feature, customer=customer, end_user=end_user, pipeline=pipeline, run_id=run_id,
        step=step, budget_cap_usd=budget_cap_usd, max_quota_wait_s=max_quota_wait_s, versions=versions,
        attributes=attributes, parent=parent, rng=rng, stream=True,
    ))  # fmt: skip
    call.prepare()
    call.guard_input()
    call.reserve()
    return GovernedStream(call, lookbehind)
