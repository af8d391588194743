"""The demo-data hook registry.

``manage.py seed_demo`` creates the ``demo`` project, then calls every registered seeder
with it; each app registers its own seeder in ``AppConfig.ready()``, so the core seeds
guard policies, prices or pipelines without importing the apps that own them.
Seeders must be idempotent: ``seed_demo`` runs on every ``make run``.
"""

from __future__ import annotations

from collections.abc import Callable

from governance.models import Project

DemoSeeder = Callable[[Project], None]
_seeders: list[tuple[int, str, DemoSeeder]] = []


def register_demo_seeder(name: str, seeder: DemoSeeder, *, order: int = 100) -> None:
    if all(existing != name for _, existing, _s in _seeders):
        _seeders.append((order, name, seeder))


def demo_seeders() -> list[tuple[str, DemoSeeder]]:
    return [(name, seeder) for _, name, seeder in sorted(_seeders, key=lambda item: (item[0], item[1]))]
