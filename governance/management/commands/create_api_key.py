from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from governance.errors import ArbiterError
from governance.models import Project
from governance.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Issue an API key for a project. The key is printed once, as the last line of output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. 'checkout-service'.")
        parser.add_argument("--scopes", required=True, help="Comma-separated scopes, or 'all'.")
        parser.add_argument("--expires-in-days", type=int, default=None, help="Expire after this many days.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        days = options["expires_in_days"]
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            issued = api_key_create(
                project=project, name=options["name"], scopes=options["scopes"], expires_at=expires_at
            )
        except ArbiterError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Issued key '{issued.api_key.name}' for project '{project.slug}' "
            f"with scopes {', '.join(issued.api_key.scopes)}. Store it now; it will not be shown again:"
        )
        self.stdout.write(issued.secret)
