"""The classifier's verbs: curate examples, train versions on a worker, promote one to a policy.

A version is never used until it is promoted explicitly (`version_promote`), which publishes
a new policy version naming the classifier's label, digest and threshold and appends a
`ClassifierPromotion`; nothing swaps a model silently.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from governance.enqueue import WhenBrokerDown, enqueue_now, enqueue_on_commit
from governance.errors import ArbiterError
from governance.models import Project
from guardrails.classifier import store
from guardrails.classifier.dataset import DatasetError, LabeledText, load_starter, parse_file
from guardrails.classifier.shipped import ShippedModel, default_shipped, shipped_by_sha, shipped_models
from guardrails.classifier.training import TrainingConfig, TrainingError, threshold_for, train
from guardrails.classifier_models import (
    ClassifierPromotion,
    ClassifierVersion,
    GuardExample,
    TrainingStatus,
)
from guardrails.models import GuardPolicy, GuardRule
from guardrails.services.policies import policy_publish

log = structlog.get_logger(__name__)

LOCAL_CLASSIFIER_KIND = "local_classifier"
DEFAULT_RULE_NAME = "Prompt-injection classifier"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Keep the report a bounded JSON document whatever the data: the largest sources are kept.
MAX_REPORTED_SOURCES = 200


# --- examples -------------------------------------------------------------------------------


@transaction.atomic
def example_import(
    *, project: Project, filename: str, content: bytes, default_source: str = "", user: User | None = None
) -> int:
    """Import labelled examples from a CSV or JSONL file (all rows or none).

    Raises ``invalid_examples`` with the offending line in ``detail``."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise ArbiterError("invalid_examples", f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    source = default_source.strip()[:100] or filename[:100]
    try:
        rows = parse_file(filename, content, default_source=source)
    except DatasetError as exc:
        raise ArbiterError("invalid_examples", str(exc), detail={"line": exc.line}) from exc
    if not rows:
        raise ArbiterError("invalid_examples", "The file has no examples.")
    GuardExample.objects.bulk_create(
        [
            GuardExample(
                project=project,
                text=row.text,
                label=row.label,
                category=row.category,
                language=row.language,
                source=row.source,
                created_by=user,
            )
            for row in rows
        ],
        batch_size=500,
    )
    return len(rows)


def example_save(*, example: GuardExample, user: User | None = None) -> GuardExample:
    try:
        example.full_clean()
    except ValidationError as exc:
        raise ArbiterError("invalid_example", "The example is not valid.", detail=exc.message_dict) from exc
    if example.pk is None and user is not None:
        example.created_by = user
    example.save()
    return example


def example_delete(*, example: GuardExample) -> None:
    example.delete()


def _project_examples(project: Project) -> list[LabeledText]:
    return [
        LabeledText(text=t, label=label, category=c, language=lang, source=s or "(no source)")
        for t, label, c, lang, s in GuardExample.objects.filter(project=project)
        .order_by("id")
        .values_list("text", "label", "category", "language", "source")
    ]


# --- training -------------------------------------------------------------------------------


def version_request(
    *,
    project: Project,
    user: User | None = None,
    name: str = "prompt-injection",
    include_starter: bool = True,
    target_fpr: float = 0.01,
) -> ClassifierVersion:
    """Queue the training of the project's next version; the task runs when the row is committed.

    Raises ``nothing_to_train`` when there would be no example at all."""
    if not 0.0 < target_fpr < 1.0:
        raise ArbiterError("invalid_target_fpr", "The target false-positive rate must be between 0 and 1.")
    if not include_starter and not GuardExample.objects.filter(project=project).exists():
        raise ArbiterError("nothing_to_train", "The project has no examples; include the starter set or add some.")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                latest = ClassifierVersion.objects.filter(project=project, name=name).aggregate(n=Max("version"))["n"]
                version = ClassifierVersion.objects.create(
                    project=project,
                    name=name,
                    version=(latest or 0) + 1,
                    include_starter=include_starter,
                    target_fpr=target_fpr,
                    requested_by=user,
                )
                enqueue_on_commit(_train_task(), args=[version.pk], when_broker_down=WhenBrokerDown.LEAVE_FOR_SWEEPER)
                return version
        except IntegrityError:
            continue  # two requests took the same number: the unique constraint made one retry
    raise ArbiterError("busy", "Another version is being created; try again.", status_code=409)


TRAIN_TASK = "guardrails.classifier_train"
# A version still queued after this long lost its message (broker down, worker gone): the
# sweeper enqueues it again. One training longer than the task's hard limit was killed.
REQUEUE_AFTER = timedelta(minutes=5)
TRAINING_GIVEN_UP_AFTER = timedelta(hours=2)


def _train_task() -> Any:
    # By name from the app's registry: services sit below the tasks module that defines it.
    from governance.celery import app

    return app.tasks[TRAIN_TASK]


def version_sweep() -> dict[str, int]:
    """Re-enqueue versions left queued (their message was lost or never sent) and fail trainings
    whose worker died. Safe to run concurrently: training claims its row atomically."""
    now = timezone.now()
    requeued = 0
    for version_id in ClassifierVersion.objects.filter(
        status=TrainingStatus.QUEUED, created_at__lt=now - REQUEUE_AFTER
    ).values_list("pk", flat=True)[:100]:
        enqueue_now(_train_task(), args=[version_id], when_broker_down=WhenBrokerDown.LEAVE_FOR_SWEEPER)
        requeued += 1
    abandoned = ClassifierVersion.objects.filter(
        status=TrainingStatus.TRAINING, started_at__lt=now - TRAINING_GIVEN_UP_AFTER
    ).update(
        status=TrainingStatus.FAILED,
        error="The worker training this version stopped without finishing (killed or lost).",
        finished_at=now,
    )
    return {"requeued": requeued, "abandoned": abandoned}


def version_train(*, version_id: int) -> ClassifierVersion | None:
    """Train a queued version (the task's body). Claims the row with a conditional update, so
    a task delivered twice trains once; returns None when the row is gone or already claimed.
    A training failure is recorded on the row (``failed`` with the reason), not raised."""
    claimed = ClassifierVersion.objects.filter(pk=version_id, status=TrainingStatus.QUEUED).update(
        status=TrainingStatus.TRAINING, started_at=timezone.now()
    )
    if not claimed:
        return None
    version = ClassifierVersion.objects.select_related("project").get(pk=version_id)
    try:
        project_examples = _project_examples(version.project)
        examples = [*project_examples, *(load_starter() if version.include_starter else [])]
        config = TrainingConfig(target_fpr=version.target_fpr)
        trained = train(examples, config)
        blob, digest = trained.artifact(name=version.model_name, version=version.version, config=config.features)
    except TrainingError as exc:
        _fail(version, str(exc))
        return version
    except Exception:
        # Recorded on the row (what the admin shows) and logged, not raised: the task is not
        # retried, since training the same examples again fails the same way.
        log.exception("classifier.train_failed", version_id=version.pk)
        _fail(version, traceback.format_exc(limit=5)[-4000:])
        return version
    report = trained.report.to_dict()
    report["by_source"] = dict(
        sorted(
            report["by_source"].items(),
            key=lambda item: -(item[1]["attacks"] + item[1]["benign"]),
        )[:MAX_REPORTED_SOURCES]
    )
    ClassifierVersion.objects.filter(pk=version.pk).update(
        status=TrainingStatus.READY,
        artifact=blob,
        sha256=digest,
        threshold=trained.report.threshold,
        report=report,
        example_count=len(project_examples),
        finished_at=timezone.now(),
        error="",
    )
    version.refresh_from_db()
    return version


def _fail(version: ClassifierVersion, reason: str) -> None:
    ClassifierVersion.objects.filter(pk=version.pk).update(
        status=TrainingStatus.FAILED, error=reason, finished_at=timezone.now()
    )
    version.refresh_from_db()


def artifact_from_database(sha256: str) -> bytes | None:
    """The `guardrails.classifier.store` source for trained versions (added at app start)."""
    row = (
        ClassifierVersion.objects.filter(sha256=sha256, status=TrainingStatus.READY)
        .values_list("artifact", flat=True)
        .first()
    )
    return bytes(row) if row is not None else None


# --- promotion ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A version that can be promoted: a trained one or one shipped with Arbiter."""

    label: str
    sha256: str
    calibration: Sequence[dict[str, float]]
    default_threshold: float
    version: ClassifierVersion | None = None

    @classmethod
    def of_version(cls, version: ClassifierVersion) -> Candidate:
        return cls(
            label=version.label,
            sha256=version.sha256,
            calibration=list((version.report or {}).get("calibration") or []),
            default_threshold=float(version.threshold if version.threshold is not None else 0.5),
            version=version,
        )

    @classmethod
    def of_shipped(cls, shipped: ShippedModel) -> Candidate:
        model = store.load_model(shipped.sha256)
        return cls(
            label=shipped.label,
            sha256=shipped.sha256,
            calibration=[p.to_dict() for p in model.calibration],
            default_threshold=shipped.threshold,
        )

    def threshold_for(self, target_fpr: float) -> float:
        return threshold_for(self.calibration, target_fpr) if self.calibration else self.default_threshold


def shipped_candidates() -> list[Candidate]:
    return [Candidate.of_shipped(m) for m in shipped_models()]


def _classifier_rule(policy: GuardPolicy) -> GuardRule | None:
    return policy.rules.filter(kind=LOCAL_CLASSIFIER_KIND).order_by("position", "id").first()


@transaction.atomic
def version_promote(
    *,
    candidate: Candidate,
    policy: GuardPolicy,
    target_fpr: float | None = None,
    threshold: float | None = None,
    user: User | None = None,
    note: str = "",
) -> ClassifierPromotion:
    """Make ``candidate`` the classifier of ``policy``.

    The threshold is the explicit one, else the one calibrated for ``target_fpr`` on the
    version's held-out benign texts, else the version's default. The policy's
    ``local_classifier`` rule is updated (or added, blocking inputs) and a new policy version
    is published; the promotion is recorded. Raises ``not_promotable`` (a version that is not
    ready or belongs to another project) and ``invalid_threshold``."""
    version = candidate.version
    if version is not None:
        if version.project_id != policy.project_id:
            raise ArbiterError("not_promotable", "The version belongs to another project.")
        if version.status != TrainingStatus.READY or not version.sha256:
            raise ArbiterError("not_promotable", f"Version {version.label} is {version.status}, not ready.")
    if threshold is None:
        threshold = candidate.threshold_for(target_fpr) if target_fpr is not None else candidate.default_threshold
    if not 0.0 < threshold <= 1.0:
        raise ArbiterError("invalid_threshold", "The threshold must be in (0, 1].")
    locked = GuardPolicy.objects.select_for_update().get(pk=policy.pk)
    rule = _classifier_rule(locked)
    previous: dict[str, Any] = dict(rule.config) if rule is not None else {}
    config = {
        **previous,
        "model": candidate.label,
        "sha256": candidate.sha256,
        "threshold": round(float(threshold), 4),
    }
    if rule is None:
        last = locked.rules.aggregate(n=Max("position"))["n"]
        rule = GuardRule(
            policy=locked,
            name=DEFAULT_RULE_NAME,
            kind=LOCAL_CLASSIFIER_KIND,
            stage="input",
            action="block",
            severity="high",
            position=(last or 0) + 1,
        )
    rule.config = config
    what = f"classifier {candidate.label} promoted at threshold {config['threshold']:g}"
    if target_fpr is not None:
        what += f" (target FPR {target_fpr:.1%})"
    try:
        rule.full_clean()
    except ValidationError as exc:
        raise ArbiterError("invalid_rule", "The classifier rule is not valid.", detail=exc.message_dict) from exc
    rule.save()
    policy_publish(policy=locked, user=user, note=what)
    return ClassifierPromotion.objects.create(
        project=locked.project,
        policy=locked,
        classifier_version=version,
        model_label=candidate.label,
        sha256=candidate.sha256,
        threshold=config["threshold"],
        target_fpr=target_fpr,
        previous_label=str(previous.get("model", "")),
        previous_sha256=str(previous.get("sha256", "")),
        previous_threshold=previous.get("threshold"),
        policy_version=locked.version,
        note=(note or what)[:300],
        promoted_by=user,
    )


def current_classifier(policy: GuardPolicy) -> dict[str, Any] | None:
    """The classifier the policy's published rule uses: label, digest, threshold, and the
    version row or the shipped model it comes from."""
    rule = _classifier_rule(policy)
    if rule is None:
        return None
    digest = str(rule.config.get("sha256", ""))
    version = ClassifierVersion.objects.filter(sha256=digest, project=policy.project).first() if digest else None
    return {
        "rule": rule,
        "label": rule.config.get("model", ""),
        "sha256": digest,
        "threshold": rule.config.get("threshold"),
        "version": version,
        "shipped": shipped_by_sha(digest),
    }


def default_candidate() -> Candidate:
    return Candidate.of_shipped(default_shipped())
