"""Turn the three role groups into project memberships, then remove the groups.

Until now a role was a Django group with global permissions, so a member of "operators"
acted on every project. Each member keeps exactly that reach: one membership with the
group's role in every project that exists. The groups go away, because the admin no longer
reads model permissions for staff (``governance.admin.scoping`` reads memberships), and a
group left behind would look as if it still granted something.
"""

from django.db import migrations

GROUP_ROLES = {"operators": "operator", "policy editors": "policy_editor", "auditors": "auditor"}


def groups_to_memberships(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Project = apps.get_model("governance", "Project")
    ProjectMembership = apps.get_model("governance", "ProjectMembership")
    project_ids = list(Project.objects.values_list("pk", flat=True))
    for group in Group.objects.filter(name__in=GROUP_ROLES):
        role = GROUP_ROLES[group.name]
        for user_id in group.user_set.values_list("pk", flat=True):
            for project_id in project_ids:
                ProjectMembership.objects.get_or_create(user_id=user_id, project_id=project_id, role=role)
    Group.objects.filter(name__in=GROUP_ROLES).delete()


def memberships_to_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    ProjectMembership = apps.get_model("governance", "ProjectMembership")
    for name, role in GROUP_ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        user_ids = set(ProjectMembership.objects.filter(role=role).values_list("user_id", flat=True))
        group.user_set.add(*user_ids)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("governance", "0006_project_memberships"),
    ]

    operations = [migrations.RunPython(groups_to_memberships, memberships_to_groups)]
