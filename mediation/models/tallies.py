"""Counts kept up to date by the database itself, so that a page never counts a whole scope.

``CaseTally`` holds how many cases each organisation has in each state with each running
statutory due date (the acceptance period while registered, the mediation period while
being mediated or waiting for an escalation decision; none otherwise). ``MediatorTally``
holds how many cases each user is assigned to in each state, ``GrantTally`` how many each
user reads by a per-case grant, per organisation, state and due date. Triggers on the case table
and on the case–mediator table change them in the same transaction as the change that
moves them, whoever writes (services, the admin, an import, a bulk load): see
``mediation/tallies.py``, which owns the triggers and every read of these tables.
"""
from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models

#: The due date of a case whose statutory clock is not running: never overdue, never due soon.
NO_DUE_DATE = datetime.date(9999, 12, 31)


class CaseTally(models.Model):
    organisation = models.ForeignKey("mediation.Organisation", on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+")
    state = models.CharField(max_length=30)
    due_on = models.DateField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "state", "due_on"], name="case_tally_key")]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.state} {self.due_on}: {self.n}"


class GrantTally(models.Model):
    """Cases a user reads by a per-case grant (``view_case``), per organisation, state and due date."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    organisation = models.ForeignKey("mediation.Organisation", on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+")
    state = models.CharField(max_length=30)
    due_on = models.DateField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organisation", "state", "due_on"],
                                               name="grant_tally_key")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.organisation_id} {self.state} {self.due_on}: {self.n}"


class MediatorTally(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    state = models.CharField(max_length=30)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "state"], name="mediator_tally_key")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.state}: {self.n}"
