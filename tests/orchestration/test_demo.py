"""`seed_demo` gives the demo project an alias on the offline provider and a prompt that work together."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from governance.models import DecisionEnvelope, Project
from orchestration.services import governed_call

pytestmark = pytest.mark.django_db


def test_the_demo_alias_and_prompt_answer_a_governed_call():
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    demo = Project.objects.get(slug="demo")
    result = governed_call(
        project=demo,
        alias="demo-chat",
        decision_type="llm_call",
        prompt="support-answer",
        variables={"company": "Acme", "question": "Where is my parcel? Mail me at jane.doe@example.com", "tone": ""},
        input_policy="default",
        output_policy="support-bot",
        feature="support",
    )
    assert result.served_by.simulated is True
    assert result.served_by.model == "sim-small"
    assert result.text.startswith("[simulated] ")
    assert "jane.doe@example.com" not in result.text  # the support-bot policy redacts e-mails in answers
    assert result.cost_usd > 0
    assert result.prompt is not None
    envelope = DecisionEnvelope.objects.get(pk=result.envelope_id)
    assert envelope.versions["model"]["simulated"] is True
    assert envelope.versions["prompt"]["template"] == "support-answer"
