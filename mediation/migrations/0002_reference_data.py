"""Reference data every installation starts with; an administrator may edit all of it."""
from django.db import migrations

LINES = [
    (1, "企业自主化解", "企业劳动争议调解委员会、企业工会或区域性、行业性调解组织在企业内部化解"),
    (2, "联合调解", "镇街劳动争议调解中心：工会、人社、司法所与法院联络员联合调解"),
    (3, "调裁诉联动", "区职工服务中心：仲裁派出庭、巡回法庭，诉前、仲裁前调解与移交"),
]
LEVELS = [("区", 0, 3), ("镇街", 1, 2), ("片区", 2, 1), ("企业", 3, 1)]
# The roles' permission sets as first installed (frozen: the live defaults are in
# mediation/permissions.py; administrators may change the groups afterwards).
MEDIATOR = ("register_case", "accept_case", "work_case", "request_escalation", "conclude_case", "withdraw_case",
            "view_personal_data", "view_case")
ROLE_PERMISSIONS = {
    "mediator": MEDIATOR,
    "supervisor": MEDIATOR + ("decide_escalation", "close_case", "reopen_case", "assign_mediator", "extend_deadline"),
    "administrator": ("view_case", "view_all_cases"),
    "auditor": ("view_case",),
}
CATEGORIES = [
    ("wages", "劳动报酬"), ("social_insurance", "社会保险"), ("termination", "解除/终止劳动合同"),
    ("employment_relationship", "确认劳动关系"), ("compensation", "经济补偿/赔偿金"),
    ("hours_leave", "工时/休假"), ("other", "其他"),
]


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    LineName = apps.get_model("mediation", "LineName")
    OrganisationLevel = apps.get_model("mediation", "OrganisationLevel")
    Category = apps.get_model("mediation", "Category")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for number, name, description in LINES:
        LineName.objects.update_or_create(number=number, defaults={"name": name, "description": description})
    for name, rank, line in LEVELS:
        OrganisationLevel.objects.update_or_create(rank=rank, defaults={"name": name, "line": line})
    for position, (code, name) in enumerate(CATEGORIES):
        Category.objects.update_or_create(code=code, defaults={"name": name, "position": position})
    # Permissions are normally created after all migrations; the groups need them now.
    app_config = apps.get_app_config("mediation")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(Permission.objects.filter(content_type__app_label="mediation",
                                                        codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("mediation", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
