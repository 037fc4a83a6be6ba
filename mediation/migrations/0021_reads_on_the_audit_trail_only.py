"""Reads of a case are recorded once, on the audit trail (``case.read``): the access log goes.

Every read by someone who does not work the case (DOMAIN.md §5) went on two records, the access
log (``CaseAccessLog``) and the audit trail, which holds the same reader, case, time and purpose and
is the one the auditors search. Before the table goes, each of its rows that the trail does not
already hold (reads logged before the trail existed) is appended to the chain as a ``case.read``
row of its own, with its original time and purpose and a reason saying where it came from (the
reader's name is the account's name now: the log named them by id); the rows the trail holds
already (written beside the log's, in the same request, since the trail began) are not copied
twice. The model's content type goes too, and with it its permissions (the administrators held
"view"). Going back recreates the access log empty: the reads stay on the audit trail.

How it runs: the access log is locked first, then the chain (the order in which a request of the
code before this migration takes them: its row of the log, then the chain), so that a read served
while it runs waits instead of deadlocking it. The trail's reads are read once, into memory (a
few hundred bytes each), and matched there; the copies are written in batches. While it runs,
everything that writes to the audit trail waits for it.
"""
import datetime

from django.db import migrations

#: The reason a copied row carries (stored text, frozen here).
REASON = "由查阅记录（CaseAccessLog）迁入审计日志"
#: The trail's row of a read was written just after the log's, in the same request; it may have
#: waited for the chain's lock meanwhile.
WINDOW = datetime.timedelta(minutes=1)
#: A log row older than the trail's first read by more than this has no twin there: it is copied.
BEFORE_THE_TRAIL = datetime.timedelta(seconds=1)
BATCH = 1000


def copy_reads_onto_the_trail(apps, schema_editor):
    from mediation.audit.log import row_hash
    from mediation.audit.models import GENESIS

    connection = schema_editor.connection
    db = connection.alias
    Access = apps.get_model("mediation", "CaseAccessLog")
    Event = apps.get_model("audit", "AuditEvent")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE mediation_caseaccesslog IN ACCESS EXCLUSIVE MODE")
    reads = (Access.objects.using(db).order_by("at", "pk")
             .values_list("case_id", "case__number", "user_id", "user__username", "at", "what"))
    if not reads.exists():
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT audit_chain_head()")  # the chain's lock, then its last hash
            head = cursor.fetchone()[0]
        else:
            head = Event.objects.using(db).order_by("-pk").values_list("hash", flat=True).first()
    head = head or GENESIS
    # The trail's reads, by (case, reader, purpose), oldest first: each is the twin of one log row.
    twins: dict[tuple, list] = {}
    trail = (Event.objects.using(db).filter(action="case.read").order_by("at", "pk")
             .values_list("case_id", "actor_id", "new", "at"))
    for case_id, actor_id, new, at in trail.iterator(chunk_size=5000):
        purpose = new.get("purpose") if isinstance(new, dict) else None
        twins.setdefault((case_id, actor_id, purpose), []).append(at)
    first = min((times[0] for times in twins.values()), default=None)
    taken = {key: 0 for key in twins}  # how many of each key's twins are matched
    batch: list = []
    for case_id, number, user_id, username, at, what in reads.iterator(chunk_size=5000):
        key = (case_id, user_id, what)
        times = twins.get(key, ())
        if first is not None and at >= first - BEFORE_THE_TRAIL and key in taken:
            while taken[key] < len(times) and times[taken[key]] < at:
                taken[key] += 1  # a twin is never older than its log row
            if taken[key] < len(times) and times[taken[key]] <= at + WINDOW:
                taken[key] += 1
                continue
        event = Event(at=at, actor_id=user_id, actor_name=username[:150], action="case.read",
                      object_type="" if what == "admin_view" else "mediation.case",
                      object_id="" if what == "admin_view" else str(case_id),
                      case_id=case_id, case_number=(number or "")[:80], old=None, new={"purpose": what},
                      reason=REASON, request_id="", ip="", prev_hash=head)
        event.hash = head = row_hash(event)
        batch.append(event)
        if len(batch) >= BATCH:
            Event.objects.using(db).bulk_create(batch)
            batch = []
    if batch:
        Event.objects.using(db).bulk_create(batch)


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
