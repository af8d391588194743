from __future__ import annotations

import pytest

from governance.models import DecisionEnvelope
from governance.services.demo import demo_seed
from tests.support.envelopes import assert_envelopes_conform

pytestmark = pytest.mark.django_db


def test_demo_seed_gives_the_admin_decisions_to_show_and_is_idempotent():
    demo_seed()
    envelopes = DecisionEnvelope.objects.filter(project__slug="demo", decision_type="guard_check")
    outcomes = set(envelopes.values_list("outcome", flat=True))
    assert {"allowed", "blocked", "redacted", "flagged"} <= outcomes
    assert envelopes.filter(outcome="flagged", review_item__state="pending").exists()
    # Tier-3 verdicts from the simulated LLM guard included.
    assert_envelopes_conform(DecisionEnvelope.objects.filter(project__slug="demo"), expect_kinds={"guard_check"})
    count = envelopes.count()
    demo_seed()
    assert envelopes.count() == count
