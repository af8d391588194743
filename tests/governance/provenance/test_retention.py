"""Retention: raw content past the project's retention period goes, hashes stay, the chain verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from governance import tasks
from governance.models import DecisionEnvelope, Project
from governance.services.envelopes import ledger_verify, sha256_json
from governance.services.retention import retention_sweep

pytestmark = pytest.mark.django_db


def test_sweep_removes_expired_content_and_the_chain_still_verifies(make_envelope, raw_project, charlie_project):
    Project.objects.filter(pk=raw_project.pk).update(retention_days=30)
    kept_forever = make_envelope(project=charlie_project, input="charlie keeps this")
    envelopes = [make_envelope(input=f"prompt {i}", output={"text": f"answer {i}"}) for i in range(3)]

    assert retention_sweep(now=timezone.now() + timedelta(days=29))[0].purged == 0
    later = timezone.now() + timedelta(days=31)
    [result] = retention_sweep(now=later)
    assert (result.project, result.purged) == ("alice", 3)

    for original in envelopes:
        purged = DecisionEnvelope.objects.get(pk=original.pk)
        assert (purged.input, purged.output) == (None, None)
        assert purged.content_purged_at == later
        assert purged.input_hash == original.input_hash == sha256_json(f"prompt {original.seq - 1}")
        assert purged.content_hash == original.content_hash
    assert all(report.ok for report in ledger_verify(alert=False))
    assert (
        DecisionEnvelope.objects.get(pk=kept_forever.pk).content_storage == "hashed"
    )  # charlie: redacted, no redactor
    # Idempotent.
    assert retention_sweep(now=later)[0].purged == 0


def test_the_task_runs_the_sweep_and_is_scheduled(make_envelope, raw_project):
    Project.objects.filter(pk=raw_project.pk).update(retention_days=0)
    make_envelope(input="old")
    assert tasks.retention_sweep.delay().get() == {"alice": 1}
    entry = settings.CELERY_BEAT_SCHEDULE["governance.retention_sweep"]
    assert entry["task"] == "governance.retention_sweep"
