from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.services.demo import demo_seed


class Command(BaseCommand):
    help = "Create or complete the demo project and every app's demo objects (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--issue-key",
            action="store_true",
            help="Revoke the previous demo key and print a fresh one (its secret cannot be shown again).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = demo_seed(issue_key=options["issue_key"])
        verb = "Created" if result.created else "Updated"
        self.stdout.write(f"{verb} project '{result.project.slug}'; seeded: {', '.join(result.seeded) or 'core only'}")
        if result.issued_key is not None:
            self.stdout.write(f"Demo API key (all scopes, project '{result.project.slug}'):")
            self.stdout.write(result.issued_key.secret)
