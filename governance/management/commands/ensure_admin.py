from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Development helper for 'make run': create the superuser 'admin' when there is none and print "
        "its login; with --reset, give the existing 'admin' a fresh random password and print it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--reset", action="store_true", help="Set a new random password on an existing user.")
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/", help="Where the admin is served.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        username = options["username"]
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first()
        if user is None:
            if User.objects.filter(is_superuser=True).exists():
                self.stdout.write("A superuser already exists; log in with it (or use manage.py changepassword).")
                return
            User.objects.create_superuser(username=username, email="", password=password)
        elif options["reset"]:
            user.set_password(password)
            user.save(update_fields=["password"])
        else:
            self.stdout.write(f"User '{username}' exists; use --reset to print a new password.")
            return
        self.stdout.write(f"Admin login: {options['url']}  user: {username}  password: {password}")
