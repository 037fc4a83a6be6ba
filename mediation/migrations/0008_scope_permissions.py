"""Permissions for actions over a scope (export case files, read statistics and the ledger,
import historical ledgers), given to the roles that did them when they were decided by
role name, so that an upgraded installation keeps its behaviour."""
from django.db import migrations

# Frozen here (not imported) so this migration means the same thing forever.
GIVE = {
    "supervisor": ("export_case_files", "read_statistics", "import_ledger"),
    "administrator": ("read_statistics", "import_ledger"),
    "auditor": ("read_statistics",),
}


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    config = apps.get_app_config("mediation")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    for role, codenames in GIVE.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="mediation",
                                                         codename__in=codenames))


class Migration(migrations.Migration):

    dependencies = [
        ('mediation', '0007_overdue_indexes'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='case',
            options={'ordering': ['-received_at', '-pk'], 'permissions': [('register_case', '登记案件'), ('accept_case', '受理或不予受理'), ('work_case', '办理案件：调解笔录、协议、回访、转交'), ('request_escalation', '申请升级'), ('decide_escalation', '审批升级'), ('conclude_case', '达成协议、终止调解、确认履行'), ('withdraw_case', '登记撤回'), ('close_case', '结案'), ('reopen_case', '重新开启已结案件'), ('assign_mediator', '指派调解员'), ('extend_deadline', '延长调解期限'), ('view_personal_data', '查看完整身份证号码和电话'), ('view_all_cases', '查看全区案件'), ('export_case_files', '导出卷宗'), ('read_statistics', '查看统计和案件台账'), ('import_ledger', '导入历史台账')], 'verbose_name': '案件', 'verbose_name_plural': '案件'},
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
