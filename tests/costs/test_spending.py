"""The spending protocol: reserve the worst case, call, settle every attempt's priced cost, release."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from costs.choices import BudgetMode, ReservationState
from costs.errors import BudgetExceededError, SpendRefusedError, UnpricedSpendError
from costs.models import BudgetReservation, UsageRecord
from costs.pricing import input_tokens_upper_bound
from costs.services.budgets import budget_counter_current
from costs.services.spending import (
    SETTLE_GRACE_S,
    CallBound,
    SpendTags,
    call_bound,
    spend_release,
    spend_reserve,
    spend_settle,
    spending,
)
from governance.choices import ProviderKind
from governance.errors import NotFoundError
from governance.llm import BreakerOpenError, MemoryBreakerStore, configure
from governance.llm.providers.offline import approx_tokens
from governance.models import Provider
from governance.services.provider_calls import provider_call, provider_call_deadline_s
from tests.support.fake_provider import openai_reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _memory_breakers():
    configure(breaker_store=MemoryBreakerStore(), sleep=lambda s: None)
    yield
    configure()


@pytest.fixture
def provider(fake_provider):
    return Provider.objects.create(
        name="fake-openai", kind=ProviderKind.OPENAI, base_url=fake_provider.openai_base_url, max_attempts=2,
        connect_timeout_s=1, read_timeout_s=2, backoff_max_s=0.5,
    )  # fmt: skip


@pytest.fixture
def priced(make_price, provider):
    return make_price(provider="fake-openai", model="gpt-test", input_per_mtok=Decimal(1), output_per_mtok=Decimal(2))


def bound_for(provider, text="hello", max_tokens=100) -> CallBound:
    return call_bound(provider=provider, model="gpt-test", texts=[text], max_output_tokens=max_tokens)


def call(provider, reservation, **kwargs):
    return provider_call(
        provider=provider, model="gpt-test", messages=[("user", "hello")], max_tokens=100,
        project=kwargs.pop("project"), reservation_id=str(reservation.id), **kwargs,
    )  # fmt: skip


def test_a_call_settles_with_the_priced_cost_of_every_attempt(
    alice_project, make_budget, provider, priced, fake_provider
):
    budget = make_budget(alice_project, "1")
    fake_provider.enqueue(status=503)  # attempt 1 fails (no tokens), attempt 2 answers
    fake_provider.enqueue(json=openai_reply(prompt_tokens=30, completion_tokens=20))
    with spending(project=alice_project, bound=bound_for(provider), tags=SpendTags(), purpose="test") as reservation:
        assert budget_counter_current(budget=budget).held_nanos == reservation.hold_nanos > 0
        call(provider, reservation, project=alice_project)
    rows = list(UsageRecord.objects.filter(reservation_id=reservation.id).order_by("attempt"))
    assert [(r.attempt, r.status) for r in rows] == [(1, "retry"), (2, "ok")]
    row_cost = sum(r.cost_nanos or 0 for r in rows)
    assert row_cost == (30 * 1 + 20 * 2) * 1000  # nanos: $1/Mtok is 1,000 nanos per token
    settled = BudgetReservation.objects.get(pk=reservation.id)
    assert (settled.state, settled.actual_nanos) == (ReservationState.SETTLED, row_cost)
    counter = budget_counter_current(budget=budget)
    assert (counter.settled_nanos, counter.held_nanos) == (row_cost, 0)
    # Settling again changes nothing, and says so.
    again = spend_settle(reservation_id=reservation.id)
    assert (again.state, again.actual_nanos, again.attempts) == ("settled", row_cost, 2)
    assert budget_counter_current(budget=budget).settled_nanos == row_cost


def test_settling_with_the_attempts_events_prices_them_like_the_ledger(alice_project, provider, priced, fake_provider):
    from governance import hooks
    from governance.llm import PROVIDER_CALL_ATTEMPTED

    fake_provider.enqueue(json=openai_reply(prompt_tokens=11, completion_tokens=3))
    reservation = spend_reserve(project=alice_project, bound=bound_for(provider), tags=SpendTags())
    with hooks.capture(PROVIDER_CALL_ATTEMPTED) as events:
        call(provider, reservation, project=alice_project)
    settlement = spend_settle(reservation_id=reservation.id, attempts=events)
    (row,) = UsageRecord.objects.filter(reservation_id=reservation.id)
    assert settlement.actual_nanos == row.cost_nanos == (11 + 3 * 2) * 1000


def test_no_attempt_means_no_call_so_the_hold_is_released(alice_project, make_budget, provider, priced, fake_provider):
    budget = make_budget(alice_project, "1")
    Provider.objects.filter(pk=provider.pk).update(breaker_window_size=1, breaker_minimum_calls=1)
    provider.refresh_from_db()
    fake_provider.enqueue(status=500)
    with (
        pytest.raises(BreakerOpenError),
        spending(project=alice_project, bound=bound_for(provider), tags=SpendTags()) as r,
    ):
        call(provider, r, project=alice_project)  # attempt 1 fails and opens the breaker; the retry meets it
    assert BudgetReservation.objects.get(pk=r.id).state == ReservationState.SETTLED  # an attempt was made
    sent = fake_provider.request_count
    with (
        pytest.raises(BreakerOpenError),
        spending(project=alice_project, bound=bound_for(provider), tags=SpendTags()) as refused,
    ):
        call(provider, refused, project=alice_project)
    assert fake_provider.request_count == sent
    released = BudgetReservation.objects.get(pk=refused.id)
    assert (released.state, released.actual_nanos) == (ReservationState.RELEASED, 0)
    assert budget_counter_current(budget=budget).held_nanos == 0
    assert spend_release(reservation_id=refused.id).state == "released"  # idempotent


def test_refusals_are_typed_and_hold_nothing(alice_project, make_budget, provider, priced):
    budget = make_budget(alice_project, "0.0001")  # 100,000 nanos: less than the worst case of 100 output tokens
    with pytest.raises(BudgetExceededError) as exc:
        spend_reserve(project=alice_project, bound=bound_for(provider, max_tokens=100), tags=SpendTags())
    assert isinstance(exc.value, SpendRefusedError)
    assert exc.value.code == "budget_exceeded"
    unpriced = CallBound(
        provider="fake-openai",
        provider_kind="openai",
        model="unpriced",
        input_tokens=1,
        max_output_tokens=1,
        deadline_s=1,
    )
    with pytest.raises(UnpricedSpendError) as unpriced_exc:
        spend_reserve(project=alice_project, bound=unpriced, tags=SpendTags())
    assert unpriced_exc.value.code == "price_unknown"
    assert budget_counter_current(budget=budget).held_nanos == 0
    assert not BudgetReservation.objects.exists()


def test_without_a_hard_budget_an_unpriced_call_is_admitted_with_no_hold(alice_project, make_budget):
    make_budget(alice_project, "1", mode=BudgetMode.SOFT)
    unpriced = CallBound(
        provider="x", provider_kind="openai", model="unpriced", input_tokens=10, max_output_tokens=10, deadline_s=1
    )
    reservation = spend_reserve(project=alice_project, bound=unpriced, tags=SpendTags(feature="f"))
    assert (reservation.hold_nanos, reservation.priced) == (0, False)


def test_the_hold_outlives_the_calls_deadline(alice_project, provider, priced):
    deadline = provider_call_deadline_s(provider)
    # 2 attempts x (connect + pool wait 2 x 1 s, send + read 2 x 2 s) + 1 backoff of 0.5 s
    assert deadline == 2 * (2 * 1 + 2 * 2) + 0.5
    reservation = spend_reserve(project=alice_project, bound=bound_for(provider), tags=SpendTags())
    row = BudgetReservation.objects.get(pk=reservation.id)
    assert row.expires_at - row.created_at >= timedelta(seconds=deadline + SETTLE_GRACE_S)


@pytest.mark.parametrize("text", ["hello", "ünïcödé ✓ " * 50, "日本語のテキスト" * 20, "a" * 4000])
def test_the_input_bound_is_never_below_what_the_simulator_or_a_bpe_tokenizer_counts(text):
    # A byte-level BPE token covers at least one UTF-8 byte; the simulator counts ~4 chars a token.
    assert input_tokens_upper_bound([text]) >= len(text.encode()) >= approx_tokens(text)


def test_an_unknown_reservation_is_not_found():
    with pytest.raises(NotFoundError):
        spend_settle(reservation_id="00000000-0000-0000-0000-000000000000")
