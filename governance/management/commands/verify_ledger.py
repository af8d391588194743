"""``manage.py verify_ledger [--project SLUG]``: walk the envelope hash chains.

Exits 1 and names the first broken link of each broken chain (and raises a critical alert).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.models import Project
from governance.services.envelopes import ledger_verify


class Command(BaseCommand):
    help = "Verify every project's decision-envelope hash chain (or one project's)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", metavar="SLUG", help="Only this project.")
        parser.add_argument("--no-alert", action="store_true", help="Do not raise an alert on a broken chain.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = None
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"No project {options['project']!r}.")
        reports = ledger_verify(project=project, alert=not options["no_alert"])
        broken = 0
        for report in reports:
            if report.broken is None:
                self.stdout.write(f"{report.project}: ok ({report.checked} envelopes)")
                continue
            broken += 1
            link = report.broken
            self.stdout.write(
                f"{report.project}: BROKEN at seq {link.seq}"
                + (f" (envelope {link.envelope_id})" if link.envelope_id else "")
                + f": {link.reason}"
            )
        if broken:
            raise CommandError(f"{broken} broken chain(s)", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"All {len(reports)} chain(s) verify."))
