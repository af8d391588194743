from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from costs.services.rollups import rollup_daily, rollup_recent
from governance.models import Project


class Command(BaseCommand):
    help = (
        "Rebuild the daily cost rollups (the last --days complete days, or --start..--end), "
        "or with --recent advance today's watermark and rebuild stale days (what the 5-minute task does)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", help="project slug (default: every project)")
        parser.add_argument("--days", type=int, default=3, help="how many complete days back (default 3)")
        parser.add_argument("--start", type=date.fromisoformat, help="first local day, YYYY-MM-DD")
        parser.add_argument("--end", type=date.fromisoformat, help="last local day (default yesterday)")
        parser.add_argument("--recent", action="store_true", help="today and yesterday up to now, and stale days")

    def handle(self, *args: Any, **options: Any) -> None:
        project = None
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"no project {options['project']!r}")
        if options["recent"]:
            self.stdout.write(f"rolled up {rollup_recent(project=project)} day(s) to the watermark")
            return
        days = rollup_daily(project=project, days_back=options["days"], start=options["start"], end=options["end"])
        self.stdout.write(f"rolled up {days} day(s)")
