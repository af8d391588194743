"""verify_ledger: a good chain passes; rows changed or removed behind the ORM's back are caught;
concurrent writers on PostgreSQL still build one unbroken chain."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from governance.models import Alert, DecisionEnvelope, Project
from governance.services.envelopes import envelope_append, ledger_verify


def _verify(*args: str) -> tuple[int, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_ledger", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db
def test_verify_ledger_passes_on_a_good_chain(make_envelope, charlie_project):
    for _ in range(3):
        make_envelope()
    make_envelope(project=charlie_project)
    code, out = _verify()
    assert code == 0
    assert "alice: ok (3 envelopes)" in out
    assert "charlie: ok (1 envelopes)" in out


@pytest.mark.django_db
def test_verify_ledger_catches_a_row_changed_behind_the_orms_back(make_envelope, alice_project):
    envelopes = [make_envelope() for _ in range(4)]
    table = DecisionEnvelope._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET outcome = 'blocked' WHERE id = %s", [envelopes[2].pk.hex])  # noqa: S608
    code, out = _verify("--project", "alice")
    assert code == 1
    assert f"BROKEN at seq 3 (envelope {envelopes[2].id})" in out
    assert "content does not match content_hash" in out
    assert Alert.objects.filter(kind="ledger_broken", project=alice_project, severity="critical").exists()


@pytest.mark.django_db
def test_verify_ledger_catches_a_deleted_row_and_a_rewritten_hash(make_envelope, alice_project):
    envelopes = [make_envelope() for _ in range(4)]
    table = DecisionEnvelope._meta.db_table
    with connection.cursor() as cursor:
        # A forger who recomputes the row's own hash still breaks the next link.
        cursor.execute(f"UPDATE {table} SET content_hash = %s WHERE id = %s", ["f" * 64, envelopes[1].pk.hex])  # noqa: S608
    [report] = ledger_verify(project=alice_project, alert=False)
    assert report.broken is not None
    assert report.broken.seq == 2
    with connection.cursor() as cursor:
        restore = [envelopes[1].content_hash, envelopes[1].pk.hex]
        cursor.execute(f"UPDATE {table} SET content_hash = %s WHERE id = %s", restore)  # noqa: S608
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [envelopes[3].pk.hex])  # noqa: S608
    [report] = ledger_verify(project=alice_project, alert=False)
    assert report.broken is not None
    assert "rows removed" in report.broken.reason


@pytest.mark.django_db
def test_verify_ledger_catches_edited_raw_content(make_envelope, raw_project):
    envelope = make_envelope(input="original")
    table = DecisionEnvelope._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET input = %s WHERE id = %s", ['"forged"', envelope.pk.hex])  # noqa: S608
    [report] = ledger_verify(project=raw_project, alert=False)
    assert report.broken is not None
    assert "stored input" in report.broken.reason


@pytest.mark.django_db
def test_unknown_project_is_an_error():
    with pytest.raises(CommandError):
        call_command("verify_ledger", "--project", "nope")


WRITERS, PER_WRITER = 8, 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_unbroken_chain(postgres_required):
    projects = [Project.objects.create(slug=f"p{i}", name=f"p{i}") for i in range(2)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(PER_WRITER):
                # Two projects interleaved: their chains must not wait for or mix with each other.
                envelope_append(project=projects[(n + i) % 2], decision_type="external", outcome="allowed", input=i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()  # each thread has its own connection

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert DecisionEnvelope.objects.count() == WRITERS * PER_WRITER
    reports = ledger_verify(alert=False)
    assert all(r.ok for r in reports), reports
    assert sum(r.checked for r in reports) == WRITERS * PER_WRITER
