from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from costs.services.prices import price_list_import
from governance.errors import ArbiterError
from governance.models import Project


class Command(BaseCommand):
    help = "Import a price list (JSON or CSV; see costs.services.prices.price_list_import for the columns)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="a .json or .csv file")
        parser.add_argument("--project", help="project slug for project-specific prices (default: global)")
        parser.add_argument("--format", choices=["json", "csv"], help="default: from the file extension")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        fmt = options["format"] or path.suffix.lstrip(".").lower()
        project = None
        if options["project"]:
            project = Project.objects.filter(slug=options["project"]).first()
            if project is None:
                raise CommandError(f"no project {options['project']!r}")
        try:
            result = price_list_import(content=path.read_text(), fmt=fmt, project=project)
        except ArbiterError as exc:
            raise CommandError(f"{exc.message} {exc.detail or ''}") from exc
        self.stdout.write(f"imported {result.created} price(s), {result.unchanged} already present")
