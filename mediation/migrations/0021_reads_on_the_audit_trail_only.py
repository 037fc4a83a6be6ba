"""Reads of a case are recorded once, on the audit trail (``case.read``): the access log goes.

Every read by someone who does not work the case (DOMAIN.md §5) went on two records, the access
log (``CaseAccessLog``) and the audit trail, which holds the same reader, case, time and purpose and
is the one the auditors search. Before the table goes, each of its rows that the trail does not
already hold (reads logged before the trail existed) is appended to the chain as a ``case.read``
row of its own, with its original time and purpose and a reason saying where it came from; the
rows the trail holds already (written beside it since) are not copied twice. The model's content
type goes too, and with it its permissions (the administrators held "view"). Going back recreates
the access log empty: the reads stay on the audit trail.
"""
import datetime

from django.db import migrations

#: The reason a copied row carries (stored text, frozen here).
REASON = "由查阅记录（CaseAccessLog）迁入审计日志"
#: The trail's row of a read was written just after the log's, in the same request.
WINDOW = datetime.timedelta(minutes=1)


def copy_reads_onto_the_trail(apps, schema_editor):
    from mediation.audit.log import row_hash
    from mediation.audit.models import GENESIS

    db = schema_editor.connection.alias
    Access = apps.get_model("mediation", "CaseAccessLog")
    Event = apps.get_model("audit", "AuditEvent")
    reads = (Access.objects.using(db).order_by("at", "pk")
             .values_list("case_id", "case__number", "user_id", "user__username", "at", "what"))
    if not reads.exists():
        return
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("SELECT audit_chain_head()")  # the chain's lock, then its last hash
            head = cursor.fetchone()[0]
        else:
            head = Event.objects.using(db).order_by("-pk").values_list("hash", flat=True).first()
    head = head or GENESIS
    matched: set[int] = set()
    for case_id, number, user_id, username, at, what in reads.iterator():
        already = [pk for pk in Event.objects.using(db).filter(
            action="case.read", case_id=case_id, actor_id=user_id, new__purpose=what,
            at__gte=at, at__lte=at + WINDOW).order_by("at", "pk").values_list("pk", flat=True)
            if pk not in matched]
        if already:
            matched.add(already[0])
            continue
        event = Event(at=at, actor_id=user_id, actor_name=username[:150], action="case.read",
                      object_type="" if what == "admin_view" else "mediation.case",
                      object_id="" if what == "admin_view" else str(case_id),
                      case_id=case_id, case_number=(number or "")[:80], old=None, new={"purpose": what},
                      reason=REASON, request_id="", ip="", prev_hash=head)
        event.hash = row_hash(event)
        event.save(using=db, force_insert=True)
        head = event.hash


def forget_the_model(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(
        app_label="mediation", model="caseaccesslog").delete()  # its permissions with it


class Migration(migrations.Migration):

    dependencies = [
        ("mediation", "0020_grants_know_whether_the_case_is_closed"),
        ("audit", "0004_chain_head"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(copy_reads_onto_the_trail, migrations.RunPython.noop),
        migrations.DeleteModel(
            name="CaseAccessLog",
        ),
        migrations.RunPython(forget_the_model, migrations.RunPython.noop),
    ]
