"""Create the operator roles as Django groups: operators, policy editors, auditors.

Their permissions are granted by ``governance.services.roles.roles_sync``, which runs after
every ``migrate`` (permissions themselves only exist once ``post_migrate`` has created them).
"""

from django.db import migrations

ROLE_NAMES = ("operators", "policy editors", "auditors")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=ROLE_NAMES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("governance", "0002_chainhead_decisionenvelope_reviewitem_review_span_and_more"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
