"""Training data and versions of the prompt-injection classifier, and their promotions to policies.

Imported by `guardrails.models`, so Django registers them with the app.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from governance.models import Project
from guardrails.classifier.dataset import MAX_TEXT_CHARS


class ExampleLabel(models.TextChoices):
    ATTACK = "attack", "attack (prompt injection or jailbreak)"
    BENIGN = "benign", "benign"


class TrainingStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    TRAINING = "training", "training"
    READY = "ready", "ready"
    FAILED = "failed", "failed"


TARGET_FPR_CHOICES = [
    (0.001, "0.1%"),
    (0.005, "0.5%"),
    (0.01, "1%"),
    (0.02, "2%"),
    (0.05, "5%"),
    (0.1, "10%"),
]


class GuardExample(models.Model):
    """A labelled text the prompt-injection classifier learns from, curated per project.

    ``source`` says where a text came from (an imported file, a review batch, a red-team
    session): training measures each version on sources it did not train on, so examples
    that resemble each other should share a source.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guard_examples")
    text = models.TextField(validators=[MaxLengthValidator(MAX_TEXT_CHARS)])
    label = models.CharField(max_length=8, choices=ExampleLabel.choices)
    category = models.CharField(max_length=100, blank=True, help_text="e.g. direct_override, support_message")
    language = models.CharField(max_length=16, blank=True, help_text="ISO 639-1 code, e.g. en, de")
    source = models.CharField(
        max_length=100,
        blank=True,
        help_text="Where the example came from. Held-out scores are measured per source.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "guard training example"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "source"], name="guard_example_source_idx"),
            models.Index(fields=["project", "label"], name="guard_example_label_idx"),
        ]

    def __str__(self) -> str:
        preview = " ".join(self.text.split())[:60]
        return f"{self.label}: {preview}"

    def clean(self) -> None:
        if "\x00" in (self.text or ""):
            raise ValidationError({"text": "The text contains a NUL character."})
        try:
            (self.text or "").encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError({"text": "The text is not valid Unicode."}) from None


class ClassifierVersion(models.Model):
    """One trained prompt-injection classifier of a project.

    The artifact is an ``.npz`` file without pickle (see `guardrails.classifier.artifact`),
    verified against ``sha256`` every time a process loads it. ``report`` holds what training
    measured on held-out sources: precision, recall, F1 and false-positive rate overall, per
    category and per source, the precision/recall curve, and the calibration table from which
    a policy's threshold is chosen for a target false-positive rate. A version only takes
    effect when it is promoted to a policy (`ClassifierPromotion`).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classifier_versions")
    name = models.SlugField(max_length=64, default="prompt-injection")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=TrainingStatus.choices, default=TrainingStatus.QUEUED)
    include_starter = models.BooleanField(
        default=True, help_text="Train on the shipped starter set as well as this project's examples."
    )
    target_fpr = models.FloatField(
        default=0.01,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="False-positive rate on held-out benign texts the default threshold is chosen for.",
    )
    example_count = models.PositiveIntegerField(default=0, help_text="Project examples used.")
    artifact = models.BinaryField(null=True, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    threshold = models.FloatField(null=True, blank=True)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "classifier version"
        ordering = ["project", "name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name", "version"], name="classifier_version_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in TrainingStatus]), name="classifier_version_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"

    @property
    def model_name(self) -> str:
        """The name written into the artifact: the project's slug keeps it apart from shipped ones."""
        return f"{self.project.slug}.{self.name}"

    @property
    def label(self) -> str:
        return f"{self.model_name}-{self.version}"

    @property
    def overall(self) -> dict[str, Any]:
        overall = (self.report or {}).get("overall")
        return overall if isinstance(overall, dict) else {}


class ClassifierPromotion(models.Model):
    """An explicit switch of the classifier a policy uses (append-only).

    Promoting publishes a new policy version whose ``local_classifier`` rule names the
    version's label, digest and threshold; this row says who did it, from what, to what,
    and for which target false-positive rate. ``classifier_version`` is empty for a version
    shipped with Arbiter.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classifier_promotions")
    policy = models.ForeignKey("guardrails.GuardPolicy", on_delete=models.CASCADE, related_name="promotions")
    classifier_version = models.ForeignKey(
        ClassifierVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="promotions"
    )
    model_label = models.CharField(max_length=120)
    sha256 = models.CharField(max_length=64)
    threshold = models.FloatField()
    target_fpr = models.FloatField(null=True, blank=True)
    previous_label = models.CharField(max_length=120, blank=True)
    previous_sha256 = models.CharField(max_length=64, blank=True)
    previous_threshold = models.FloatField(null=True, blank=True)
    policy_version = models.PositiveIntegerField(help_text="The policy version this promotion published.")
    note = models.CharField(max_length=300, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "classifier promotion"
        ordering = ["-promoted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_label} → {self.policy_id} v{self.policy_version}"
