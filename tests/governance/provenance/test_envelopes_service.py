"""envelope_append: the hash chain, content storage per project, append-only rows, review items."""

from __future__ import annotations

import pytest

from governance import tracing
from governance.errors import ArbiterError
from governance.models import AppendOnlyError, ChainHead, DecisionEnvelope, ReviewItem
from governance.services.envelopes import (
    NO_REDACTOR_NOTE,
    compute_content_hash,
    envelope_append,
    ledger_verify,
    sha256_json,
)

pytestmark = pytest.mark.django_db


def test_envelopes_form_a_chain(make_envelope, alice_project):
    first, second, third = make_envelope(), make_envelope(outcome="blocked"), make_envelope()

    assert [e.seq for e in (first, second, third)] == [1, 2, 3]
    assert first.prev_hash == ""
    assert second.prev_hash == first.content_hash
    assert third.prev_hash == second.content_hash
    assert third.content_hash == compute_content_hash(DecisionEnvelope.objects.get(pk=third.pk))
    head = ChainHead.objects.get(project=alice_project)
    assert (head.last_seq, head.last_hash) == (3, third.content_hash)
    [report] = ledger_verify(project=alice_project)
    assert report.ok
    assert report.checked == 3


def test_chains_are_per_project(make_envelope, alice_project, charlie_project):
    make_envelope()
    other = make_envelope(project=charlie_project)
    assert (other.seq, other.prev_hash) == (1, "")


def test_trace_defaults_to_the_current_context(make_envelope):
    ctx = tracing.TraceContext(trace_id="a" * 32, span_id="b" * 16)
    with tracing.activate(ctx):
        envelope = make_envelope()
    assert (envelope.trace_id, envelope.span_id) == ("a" * 32, "b" * 16)
    assert len(make_envelope().trace_id) == 32  # no context: a new trace


def test_raw_project_keeps_content_and_hashes(make_envelope, raw_project):
    envelope = make_envelope(input={"messages": ["hi"]}, output="hello")
    envelope.refresh_from_db()
    assert envelope.input == {"messages": ["hi"]}
    assert envelope.output == "hello"
    assert envelope.content_storage == "raw"
    assert envelope.input_hash == sha256_json({"messages": ["hi"]})


def test_hashed_project_keeps_only_hashes(make_envelope, alice_project):
    alice_project.content_storage = "hashed"
    envelope = make_envelope(input="card 4111 1111 1111 1111", output="ok")
    envelope.refresh_from_db()
    assert (envelope.input, envelope.output, envelope.content_storage) == (None, None, "hashed")
    assert envelope.input_hash == sha256_json("card 4111 1111 1111 1111")


def test_redacted_project_without_a_redactor_never_stores_raw(make_envelope, alice_project):
    assert alice_project.content_storage == "redacted"
    envelope = make_envelope(input="my number is 0612345678")
    envelope.refresh_from_db()
    assert envelope.input is None
    assert envelope.content_storage == "hashed"
    assert envelope.content_note == NO_REDACTOR_NOTE
    assert envelope.input_hash == sha256_json("my number is 0612345678")


def test_redacted_project_goes_through_the_registered_redactor(make_envelope, star_redactor):
    envelope = make_envelope(input={"text": "call 0612345678"}, output=["pin 1234"])
    envelope.refresh_from_db()
    assert envelope.input == {"text": "call **********"}
    assert envelope.output == ["pin ****"]
    assert envelope.content_storage == "redacted"
    assert envelope.input_hash == sha256_json({"text": "call 0612345678"})  # hash of the original


def test_a_failing_redactor_falls_back_to_hash_only(make_envelope):
    from governance import hooks

    def broken(text: str) -> str:
        raise RuntimeError("engine down")

    with hooks.isolated(hooks.REDACT):
        hooks.subscribe(hooks.REDACT, broken)
        envelope = make_envelope(input="secret")
    assert envelope.input is None
    assert envelope.content_storage == "hashed"


def test_rows_are_append_only(make_envelope):
    envelope = make_envelope()
    with pytest.raises(AppendOnlyError):
        DecisionEnvelope.objects.filter(pk=envelope.pk).update(outcome="blocked")
    with pytest.raises(AppendOnlyError):
        DecisionEnvelope.objects.filter(pk=envelope.pk).delete()
    envelope.outcome = "blocked"
    with pytest.raises(AppendOnlyError):
        envelope.save()
    with pytest.raises(AppendOnlyError):
        envelope.delete()
    assert DecisionEnvelope.objects.get(pk=envelope.pk).outcome == "allowed"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"decision_type": "nope"}, "invalid_envelope"),
        ({"outcome": "maybe"}, "invalid_envelope"),
        ({"risk": "huge"}, "invalid_envelope"),
        ({"confidence": 1.5}, "invalid_envelope"),
        ({"input": float("nan")}, "invalid_envelope"),
        ({"input": object()}, "invalid_envelope"),
    ],
)
def test_invalid_values_are_refused(make_envelope, kwargs, code):
    with pytest.raises(ArbiterError) as info:
        make_envelope(**kwargs)
    assert info.value.code == code
    assert not DecisionEnvelope.objects.exists()


def test_parent_must_be_in_the_same_project(make_envelope, charlie_project):
    other = make_envelope(project=charlie_project)
    with pytest.raises(ArbiterError) as info:
        make_envelope(parent=other)
    assert info.value.code == "invalid_parent"


def test_flagged_or_needs_review_opens_a_review_item(make_envelope):
    allowed = make_envelope()
    flagged = make_envelope(outcome="flagged", risk="high")
    asked = make_envelope(needs_review=True)
    assert not ReviewItem.objects.filter(envelope=allowed).exists()
    item = ReviewItem.objects.get(envelope=flagged)
    assert (item.state, item.risk, item.decision_type) == ("pending", "high", "external")
    assert ReviewItem.objects.filter(envelope=asked).exists()


def test_integral_floats_hash_like_ints(make_envelope, raw_project):
    # jsonb may print a float back as an integer; the canonical form must not care.
    envelope = make_envelope(cost={"usd": 1e20, "tokens": 3.0})
    envelope.refresh_from_db()
    assert envelope.cost == {"usd": 100000000000000000000, "tokens": 3}
    assert compute_content_hash(envelope) == envelope.content_hash


def test_envelope_append_outside_a_transaction_is_atomic(make_envelope, alice_project, monkeypatch):
    make_envelope()

    def boom(**kwargs):
        raise RuntimeError("review queue down")

    monkeypatch.setattr(ReviewItem.objects, "create", boom)
    with pytest.raises(RuntimeError):
        envelope_append(project=alice_project, decision_type="external", outcome="flagged")
    assert DecisionEnvelope.objects.count() == 1
    assert ChainHead.objects.get(project=alice_project).last_seq == 1
