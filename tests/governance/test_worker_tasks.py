"""Tasks that touch the database, run by a real Celery worker on the test database."""

from __future__ import annotations

import pytest

from governance.models import DecisionEnvelope
from governance.services.envelopes import envelope_append, ledger_verify
from governance.services.projects import project_create
from governance.tasks import retention_sweep


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_retention_sweep_on_a_real_worker_keeps_the_chain_verifiable(celery_worker):
    project = project_create(slug="short-memory", name="x", content_storage="raw", retention_days=0)
    envelope = envelope_append(project=project, decision_type="external", outcome="allowed", input="secret stuff")
    result = retention_sweep.delay().get(timeout=60)
    assert result["short-memory"] == 1
    stored = DecisionEnvelope.objects.get(pk=envelope.pk)
    assert stored.input is None
    assert stored.input_hash == envelope.input_hash
    (report,) = ledger_verify(project=project, alert=False)
    assert report.ok
